"""Remind people before their directory password expires (safe from cron, e.g. daily)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from directory.accounts import DirectoryRefused, DirectoryUnavailable, config
from directory.expiry_reminders import RemindersRunning, send_expiry_reminders


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _(
            "Send each person in the directory's scope a reminder on the policy's days before "
            "their password expires, once each, with a link to change it."
        )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help=_("Count only; send nothing."))

    def handle(self, *, dry_run, **options):
        if not config().enabled:
            raise CommandError(_("SSPR_DIRECTORY is none: passwords do not expire here."))

        def progress(report) -> None:
            self.stderr.write(
                "  "
                + _("People read: %(scanned)s; reminders due: %(due)s")
                % {"scanned": f"{report.scanned:,}", "due": f"{report.due:,}"}
            )

        try:
            report = send_expiry_reminders(dry_run=dry_run, progress=progress)
        except (DirectoryUnavailable, DirectoryRefused) as error:
            raise CommandError(_("The directory could not be read; nothing was sent.")) from error
        except RemindersRunning as error:
            raise CommandError(
                _("Another expiry reminder run is going on; nothing was sent.")
            ) from error
        if report.refused:
            raise CommandError(_("Expiry reminders are turned off in the policy."))
        counts = {
            "scanned": f"{report.scanned:,}",
            "expiring": f"{report.expiring_soon:,}",
            "due": f"{report.due:,}",
            "reminded": f"{report.reminded:,}",
            "messages": f"{report.messages:,}",
            "no_address": f"{report.no_address:,}",
        }
        if dry_run:
            # Each count after its label: no count needs a plural form.
            summary = _(
                "People read: %(scanned)s. Passwords expiring within 14 days: %(expiring)s. "
                "Reminders due: %(due)s. Dry run: nothing was sent."
            )
        else:
            summary = _(
                "People read: %(scanned)s. Passwords expiring within 14 days: %(expiring)s. "
                "Reminders due: %(due)s. People reminded: %(reminded)s (messages queued: "
                "%(messages)s). Without an address: %(no_address)s."
            )
        self.stdout.write(summary % counts)
        if report.taken and not dry_run:
            self.stdout.write(
                ngettext(
                    "%(count)s reminder was recorded by another run at the same moment; "
                    "that run sends it, nobody gets one twice.",
                    "%(count)s reminders were recorded by another run at the same moment; "
                    "that run sends them, nobody gets one twice.",
                    report.taken,
                )
                % {"count": f"{report.taken:,}"}
            )
