from django.dispatch import Signal

# Sent when an administrator saves a policy that asks more of people than the one before it
# (policy.admin.tightening_changes), once the save is committed: with `policy`, the new one,
# `request`, and `ending`, how many registrations no longer meet it
# (policy.admin.registrations_ending). Those registrations end (registration/signals.py).
policy_tightened = Signal()
