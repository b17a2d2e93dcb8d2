"""Mark registrations whose last confirmation is older than the policy allows. Safe from cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from policy.models import Policy
from registration.flows import registrations_flag_stale


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _(
            "Require users whose registration was last confirmed more than the policy's "
            "'reconfirm after' days ago to confirm it again. Prints how many were flagged."
        )

    def handle(self, *args, **options):
        policy = Policy.load()
        if not policy.reconfirm_days:
            self.stdout.write(_("Reconfirmation is off in the policy (0 days); nothing flagged."))
            return
        count = registrations_flag_stale(policy=policy)
        self.stdout.write(
            ngettext(
                "Flagged %(count)s registration for reconfirmation (reconfirm after: %(days)s).",
                "Flagged %(count)s registrations for reconfirmation (reconfirm after: %(days)s).",
                count,
            )
            % {"count": f"{count:,}", "days": _days(policy.reconfirm_days)}
        )


def _days(days: int) -> str:
    # The same words as the directory's rules (directory/rules.py), one catalogue entry.
    return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
