"""Remove audit events older than the retention period (safe from cron).

The database refuses to delete anything younger than 90 days on PostgreSQL (see the audit
migration 0006), so a mistaken or malicious short period cannot erase recent history.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.conf import app_settings
from audit.models import Event

FLOOR_DAYS = 90
CEILING_DAYS = 36500  # beyond it the date itself cannot be written


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _("Delete audit events older than SSPR_AUDIT_RETENTION_DAYS (at least 90).")

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=_("Keep this many days (default: SSPR_AUDIT_RETENTION_DAYS, 400)."),
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=5000,
            help=_("Events deleted per statement (default 5,000)."),
        )
        parser.add_argument("--dry-run", action="store_true", help=_("Count only."))

    def handle(self, *, days, batch_size, dry_run, **options):
        days = days if days is not None else app_settings.AUDIT_RETENTION_DAYS
        if days > CEILING_DAYS:
            raise CommandError(
                _("--days can be at most %(days)s (a hundred years).")
                % {"days": f"{CEILING_DAYS:,}"}
            )
        if days < FLOOR_DAYS:
            raise CommandError(
                _("Audit events are kept at least %(days)d days.") % {"days": FLOOR_DAYS}
            )
        if batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        cutoff = timezone.now() - timedelta(days=days)
        old = Event.objects.filter(created_at__lt=cutoff)
        total = old.count()
        if dry_run:
            self.stdout.write(
                ngettext(
                    "%(count)s event older than %(days)d days would be deleted.",
                    "%(count)s events older than %(days)d days would be deleted.",
                    total,
                )
                % {"count": f"{total:,}", "days": days}
            )
            return
        deleted = 0
        while True:
            ids = list(old.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            deleted += Event.objects.filter(pk__in=ids)._raw_delete(Event.objects.db)
            self.stderr.write(
                "  "
                + _("%(done)s / %(total)s deleted")
                % {"done": f"{deleted:,}", "total": f"{total:,}"}
            )
        self.stdout.write(
            ngettext(
                "%(count)s event older than %(days)d days deleted.",
                "%(count)s events older than %(days)d days deleted.",
                deleted,
            )
            % {"count": f"{deleted:,}", "days": days}
        )
