"""What the reset portal tells the apps above it (docs/architecture.md, "Layers")."""

from django.dispatch import Signal

# A new password was set at /passwordreset (after it is stored and recorded): `user`, `request`.
# The person holds their account again, so an open temporary access pass ends
# (accesspass/apps.py).
password_reset = Signal()
