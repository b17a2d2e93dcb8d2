"""End temporary access passes past their time and audit each expiry (safe from cron; the
pass pages do the same as they are used)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ...flows import expire_due


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _("End temporary access passes past their time, with an audit event for each.")

    def handle(self, **options):
        ended = expire_due()
        self.stdout.write(
            ngettext("%(count)s pass ended.", "%(count)s passes ended.", ended)
            % {"count": f"{ended:,}"}
        )
