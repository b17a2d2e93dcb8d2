"""Mark registrations whose last confirmation is older than the policy allows. Safe from cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from policy.models import Policy
from registration.flows import registrations_flag_stale


class Command(BaseCommand):
    help = (
        "Require users whose registration was last confirmed more than the policy's "
        "'reconfirm after' days ago to confirm it again. Prints how many were flagged."
    )

    def handle(self, *args, **options):
        policy = Policy.load()
        if not policy.reconfirm_days:
            self.stdout.write("Reconfirmation is off in the policy (0 days); nothing flagged.")
            return
        count = registrations_flag_stale(policy=policy)
        self.stdout.write(
            f"Flagged {count} registration{'s' if count != 1 else ''} older than "
            f"{policy.reconfirm_days} days for reconfirmation."
        )
