"""python manage.py import_contact_info FILE.csv [--dry-run] [--batch-size N]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from methods.contact_import import COLUMNS, import_contact_info
from policy.models import Policy


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _(
            "Import office phones and prepopulated authentication phones and emails from a UTF-8 "
            "CSV file with the columns %(columns)s. Prepopulated values wait for each user's "
            "confirmation. Bad rows are reported and skipped; good rows are applied."
        ) % {"columns": ", ".join(COLUMNS)}

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("Path of the CSV file."))
        parser.add_argument(
            "--dry-run", action="store_true", help=_("Check every row and report; change nothing.")
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help=_("Rows applied per transaction (default 1000)."),
        )

    def handle(self, *args, file, dry_run, batch_size, **options):
        if batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        try:
            stream = open(file, "rb")  # noqa: SIM115  (closed below)
        except OSError as exc:
            raise CommandError(
                _("Cannot open %(path)s: %(error)s.") % {"path": file, "error": exc.strerror}
            ) from exc

        def progress(done: int, total: int) -> None:
            self.stderr.write(
                "  "
                + _("%(done)s / %(total)s rows checked")
                % {"done": f"{done:,}", "total": f"{total:,}"}
            )
            self.stderr.flush()

        with stream:
            report = import_contact_info(
                stream,
                dry_run=dry_run,
                batch_size=batch_size,
                progress=progress,
                allowed_regions=Policy.load().region_list,
            )
        if report.fatal:
            raise CommandError(report.fatal)
        counts = {
            "rows": f"{report.rows:,}",
            "applied": f"{report.applied:,}",
            "created": f"{report.created:,}",
            "updated": f"{report.updated:,}",
            "unchanged": f"{report.unchanged:,}",
            "with_problems": f"{report.rows_with_errors:,}",
            "problems": f"{len(report.errors):,}",
        }
        if dry_run:
            summary = ngettext(
                "%(rows)s row: %(applied)s would be applied (%(created)s new users' details, "
                "%(updated)s updated), %(unchanged)s unchanged, %(with_problems)s with problems "
                "(%(problems)s in all).",
                "%(rows)s rows: %(applied)s would be applied (%(created)s new users' details, "
                "%(updated)s updated), %(unchanged)s unchanged, %(with_problems)s with problems "
                "(%(problems)s in all).",
                report.rows,
            )
        else:
            summary = ngettext(
                "%(rows)s row: %(applied)s applied (%(created)s new users' details, "
                "%(updated)s updated), %(unchanged)s unchanged, %(with_problems)s with problems "
                "(%(problems)s in all).",
                "%(rows)s rows: %(applied)s applied (%(created)s new users' details, "
                "%(updated)s updated), %(unchanged)s unchanged, %(with_problems)s with problems "
                "(%(problems)s in all).",
                report.rows,
            )
        self.stdout.write(summary % counts)
        for kept in report.kept:
            self.stdout.write("  " + _("kept: %(problem)s") % {"problem": kept})
        for error in report.errors:
            self.stdout.write("  " + _("error: %(problem)s") % {"problem": error})
        if dry_run:
            self.stdout.write(_("Dry run: nothing was changed."))
        if report.errors:
            raise CommandError(
                ngettext(
                    "%(count)s row was not imported; see above.",
                    "%(count)s rows were not imported; see above.",
                    report.rows_with_errors,
                )
                % {"count": f"{report.rows_with_errors:,}"}
            )
