"""python manage.py import_contact_info FILE.csv [--dry-run] [--batch-size N]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from methods.contact_import import COLUMNS, import_contact_info
from policy.models import Policy


class Command(BaseCommand):
    help = (
        "Import office phones and prepopulated authentication phones and emails from a UTF-8 "
        f"CSV file with the columns {', '.join(COLUMNS)}. Prepopulated values wait for each "
        "user's confirmation. Bad rows are reported and skipped; good rows are applied."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and report; change nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="Rows applied per transaction (default 1000).",
        )

    def handle(self, *args, file, dry_run, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            stream = open(file, "rb")  # noqa: SIM115  (closed below)
        except OSError as exc:
            raise CommandError(f"Cannot open {file}: {exc.strerror}.") from exc

        def progress(done: int, total: int) -> None:
            self.stderr.write(f"  {done:,} / {total:,} rows checked")
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
        verb = "would be applied" if dry_run else "applied"
        self.stdout.write(
            f"{report.rows:,} rows: {report.applied:,} {verb} ({report.created:,} new users' "
            f"details, {report.updated:,} updated), {report.unchanged:,} unchanged, "
            f"{report.rows_with_errors:,} with problems ({len(report.errors):,} in all)."
        )
        for kept in report.kept:
            self.stdout.write(f"  kept: {kept}")
        for error in report.errors:
            self.stdout.write(f"  error: {error}")
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
        if report.errors:
            raise CommandError(f"{report.rows_with_errors:,} rows were not imported; see above.")
