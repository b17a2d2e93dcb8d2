from django.dispatch import Signal

# Sent when an administrator saves a policy that asks more of people than the one before it
# (policy.admin.tightening_changes), once the save is committed: with `policy`, the new one,
# and `request`. The registration ends for people whose methods no longer meet it
# (registration/signals.py).
policy_tightened = Signal()
