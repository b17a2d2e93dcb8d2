"""Remind people before their directory password expires (safe from cron, e.g. daily)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from directory.accounts import DirectoryRefused, DirectoryUnavailable, config
from directory.expiry_reminders import RemindersRunning, send_expiry_reminders


class Command(BaseCommand):
    help = (
        "Send each person in the directory's scope a reminder on the policy's days before "
        "their password expires, once each, with a link to change it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count only; send nothing.")

    def handle(self, *, dry_run, **options):
        if not config().enabled:
            raise CommandError("SSPR_DIRECTORY is none: passwords do not expire here.")

        def progress(report) -> None:
            self.stderr.write(f"  {report.scanned:,} people read, {report.due:,} reminders due")

        try:
            report = send_expiry_reminders(dry_run=dry_run, progress=progress)
        except (DirectoryUnavailable, DirectoryRefused) as error:
            raise CommandError("The directory could not be read; nothing was sent.") from error
        except RemindersRunning as error:
            raise CommandError(str(error)) from error
        if report.refused:
            raise CommandError("Expiry reminders are turned off in the policy.")
        summary = (
            f"{report.scanned:,} people read; {report.expiring_soon:,} passwords expire within "
            f"14 days; {report.due:,} reminders due"
        )
        if dry_run:
            self.stdout.write(summary + ". Dry run: nothing was sent.")
        else:
            self.stdout.write(
                f"{summary}; {report.reminded:,} people reminded ({report.messages:,} messages "
                f"queued); {report.no_address:,} without an address."
            )
            if report.taken:
                self.stdout.write(
                    f"{report.taken:,} reminders were recorded by another run at the same "
                    "moment; that run sends them, nobody gets one twice."
                )
