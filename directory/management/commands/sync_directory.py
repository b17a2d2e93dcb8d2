"""Mirror everyone in the directory's scope (safe from cron; a second run changes nothing)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from directory.accounts import DirectoryUnavailable, config
from directory.sync import EmptyDirectory, SyncReport, SyncRunning, sync_directory


class Command(BaseCommand):
    help = (
        "Mirror the people in the directory's scope into this site: new ones are added, "
        "changed ones updated, those who left deactivated (their recovery data is removed "
        "after LDAP_LEFT_RETENTION_DAYS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count only; change nothing.")

    def handle(self, *, dry_run, **options):
        if not config().enabled:
            raise CommandError("SSPR_DIRECTORY is none: there is no directory to synchronise.")

        def progress(report: SyncReport) -> None:
            self.stderr.write(
                f"  page {report.pages:,}: {report.seen:,} people read, "
                f"{report.created:,} new, {report.updated:,} changed"
            )

        try:
            report = sync_directory(dry_run=dry_run, progress=progress)
        except DirectoryUnavailable as error:
            raise CommandError("The directory cannot be reached; nothing was changed.") from error
        except (EmptyDirectory, SyncRunning) as error:
            raise CommandError(str(error)) from error
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            f"{report.seen:,} people in scope: {report.created:,} {verb} added, "
            f"{report.updated:,} {verb} updated, {report.left:,} {verb} deactivated (left), "
            f"{report.removed:,} had their recovery data removed."
            + (" Nothing was changed." if dry_run else "")
        )
