"""End the registrations whose methods no longer meet the policy. Saving a policy that asks
more in the admin does this in the worker; this command does it at once, with progress."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from registration.flows import lapse_batches


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _(
            "Check every registration against the policy as it is now, and end those whose "
            "methods no longer meet it: those people are shown as not registered until they "
            "register again. Prints how many were checked and ended."
        )

    def handle(self, *args, **options):
        checked = ended = 0
        for in_batch, lapsed, _last in lapse_batches():
            checked += in_batch
            ended += lapsed
            self.stderr.write(
                _("%(checked)s registrations checked, %(ended)s ended so far")
                % {"checked": f"{checked:,}", "ended": f"{ended:,}"}
            )
        self.stdout.write(
            ngettext(
                "Checked %(checked)s registration; %(ended)s no longer met the policy and ended.",
                "Checked %(checked)s registrations; %(ended)s no longer met the policy and ended.",
                checked,
            )
            % {"checked": f"{checked:,}", "ended": f"{ended:,}"}
        )
