"""Mirror everyone in the directory's scope (safe from cron; a second run changes nothing)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from directory.accounts import DirectoryUnavailable, config
from directory.sync import (
    REUSED_AT_ONCE,
    EmptyDirectory,
    ManyNamesReused,
    SyncReport,
    SyncRunning,
    sync_directory,
)


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _(
            "Mirror the people in the directory's scope into this site: new ones are added, "
            "changed ones updated, those who left deactivated (their recovery data is removed "
            "after LDAP_LEFT_RETENTION_DAYS)."
        )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help=_("Count only; change nothing."))
        parser.add_argument(
            "--accept-new-entries",
            action="store_true",
            help=_(
                "Go on when many names are found on other directory entries than before (a "
                "directory rebuilt with new entry ids): their previous holders' recovery data "
                "is removed."
            ),
        )

    def handle(self, *, dry_run, accept_new_entries=False, **options):
        if not config().enabled:
            raise CommandError(_("SSPR_DIRECTORY is none: there is no directory to synchronise."))

        def progress(report: SyncReport) -> None:
            self.stderr.write(
                "  "
                + _("page %(page)s: people read: %(seen)s; new: %(created)s; changed: %(updated)s")
                % {
                    "page": f"{report.pages:,}",
                    "seen": f"{report.seen:,}",
                    "created": f"{report.created:,}",
                    "updated": f"{report.updated:,}",
                }
            )

        try:
            report = sync_directory(
                dry_run=dry_run, progress=progress, accept_new_entries=accept_new_entries
            )
        except DirectoryUnavailable as error:
            raise CommandError(
                _("The directory cannot be reached; nothing was changed.")
            ) from error
        except SyncRunning as error:
            raise CommandError(
                _("Another directory sync is running; nothing was changed.")
            ) from error
        except ManyNamesReused as error:
            raise CommandError(
                _(
                    "More than %(limit)d names were found on other directory entries than the "
                    "ones they were linked to, so the sync stopped before removing anyone's "
                    "recovery data. If the directory was rebuilt with new entry ids, that is "
                    "expected: run again with --accept-new-entries."
                )
                % {"limit": REUSED_AT_ONCE}
            ) from error
        except EmptyDirectory as error:
            raise CommandError(
                _("The directory returned nobody in scope; nobody was deactivated.")
            ) from error
        counts = {
            "seen": f"{report.seen:,}",
            "created": f"{report.created:,}",
            "updated": f"{report.updated:,}",
            "left": f"{report.left:,}",
            "removed": f"{report.removed:,}",
        }
        # Each count after its label: no count needs a plural form.
        if dry_run:
            # Leavers are found only once the whole directory was read and the run is kept.
            summary = _(
                "People in scope: %(seen)s. To add: %(created)s. To update: %(updated)s. "
                "Nothing was changed."
            )
        else:
            summary = _(
                "People in scope: %(seen)s. Added: %(created)s. Updated: %(updated)s. "
                "Deactivated (left): %(left)s. Recovery data removed: %(removed)s."
            )
        self.stdout.write(summary % counts)
        if report.renamed:
            renamed = (
                _("To rename, keeping their recovery methods: %(renamed)s.")
                if dry_run
                else _("Renamed in the directory, keeping their recovery methods: %(renamed)s.")
            )
            self.stdout.write(renamed % {"renamed": f"{report.renamed:,}"})
        if report.waiting:
            self.stdout.write(
                _(
                    "Waiting, their name still held by someone who has not left: "
                    "%(waiting)s (see the log)."
                )
                % {"waiting": f"{report.waiting:,}"}
            )
