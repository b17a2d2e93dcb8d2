"""Email a registration reminder to everyone in scope who needs one (safe from cron)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from policy.models import Policy
from registration.reminders import (
    RemindersInterrupted,
    interrupted_message,
    reminders_send,
    taken_message,
)


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _(
            "Email people in scope who have not registered, or must confirm again, a link to "
            "/ssprsetup/; nobody more often than the policy's interval."
        )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help=_("Count only; send nothing."))
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help=_("People read and reminded per batch (default 1,000)."),
        )

    def handle(self, *, dry_run, batch_size, **options):
        if batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        policy = Policy.load()

        def progress(done: int, total: int) -> None:
            self.stderr.write(
                "  "
                + _("%(done)s / %(total)s reminders queued")
                % {"done": f"{done:,}", "total": f"{total:,}"}
            )

        try:
            report = reminders_send(
                policy=policy, dry_run=dry_run, batch_size=batch_size, progress=progress
            )
        except RemindersInterrupted as stopped:
            raise CommandError(interrupted_message(stopped.report)) from stopped
        if report.refused:
            raise CommandError(_("Reminders are turned off in the policy."))
        if dry_run:
            self.stdout.write(
                ngettext(
                    "%(count)s person would be reminded. Nothing was sent.",
                    "%(count)s people would be reminded. Nothing was sent.",
                    report.candidates,
                )
                % {"count": f"{report.candidates:,}"}
            )
        else:
            self.stdout.write(
                ngettext("%(count)s reminder queued.", "%(count)s reminders queued.", report.sent)
                % {"count": f"{report.sent:,}"}
            )
            if report.taken:
                self.stdout.write(taken_message(report))
