"""Issue temporary access passes for new starters, so they register on day one without a
helpdesk call (the README's "Temporary access pass").

Each pass is printed once, or written to a file only its owner can read (mode 0600, never
over an existing file). Administrator accounts are refused unless --approved-by names a
Helpdesk administrator: the two-person rule holds here too.
"""

from __future__ import annotations

import argparse
import csv
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from directory.accounts import accounts
from helpdesk.views import cell
from policy.models import Policy

from ... import flows
from ...models import Verification

MIN_MINUTES, MAX_MINUTES = 10, 480
PROGRESS_EVERY = 100


def lifetime(value: str) -> int:
    try:
        minutes = int(value)
    except ValueError:
        minutes = -1
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        # The argument parser's own refusal: a one-line usage error, not a traceback.
        raise argparse.ArgumentTypeError(
            _("--lifetime must be a number of minutes from %(low)d to %(high)d.")
            % {"low": MIN_MINUTES, "high": MAX_MINUTES}
        )
    return minutes


def names_in(path: str) -> list[str]:
    """One username a line; blank lines and lines starting with # are skipped."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(
            _("Cannot read %(path)s: %(error)s") % {"path": path, "error": error}
        ) from error
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def private_file(path: str):
    """A new file only its owner can read and write; an existing one is never overwritten."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(
            _("%(path)s exists already; choose a new file.") % {"path": path}
        ) from None
    except OSError as error:
        raise CommandError(
            _("Cannot write %(path)s: %(error)s") % {"path": path, "error": error}
        ) from error
    os.fchmod(descriptor, 0o600)  # whatever the umask says
    return os.fdopen(descriptor, "w", encoding="utf-8", newline="")


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _(
            "Issue a temporary access pass for each USERNAME (and each name in --from-file), for "
            "new starters to register on day one. Prints each pass once, or writes them to a file "
            "readable only by its owner (--output). Administrator accounts need --approved-by."
        )

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", metavar="USERNAME")
        parser.add_argument(
            "--lifetime",
            type=lifetime,
            help=_("Minutes each pass works (10 to 480); the policy's by default."),
        )
        parser.add_argument(
            "--from-file", help=_("A file with one username a line (# starts a comment).")
        )
        parser.add_argument(
            "--output",
            help=_("Write username, pass and expiry as CSV to this new file (mode 0600)."),
        )
        parser.add_argument(
            "--approved-by",
            help=_(
                "The username of the Helpdesk administrator who approved passes for "
                "administrator accounts; without it those are refused."
            ),
        )
        parser.add_argument(
            "--note",
            default="",
            help=_("Why, for the record (for example the onboarding batch)."),
        )

    def handle(self, *, usernames, lifetime, from_file, output, approved_by, note, **options):
        names = list(usernames)
        if from_file:
            names += names_in(from_file)
        # Each person once, in order, however the name was written ("nia", "nia ", "ｎｉａ"):
        # a second pass for the same person would end the first one printed.
        store = accounts()
        names = list(dict.fromkeys(store.canonical_username(name) for name in names))
        if not names:
            raise CommandError(_("Name at least one USERNAME, or --from-file."))
        User = get_user_model()
        approver = None
        if approved_by:
            approver = User.objects.filter(
                **{User.USERNAME_FIELD: accounts().canonical_username(approved_by)}
            ).first()
            if approver is None or not flows.may_approve(approver):
                raise CommandError(
                    _("--approved-by must name a Helpdesk administrator: %(name)s is not one.")
                    % {"name": approved_by}
                )
        note = (note or _("Issued by the issue_access_pass command")).replace("\x00", "")[:500]
        flows.expire_due()
        policy = Policy.load()
        destination = private_file(output) if output else None
        writer = csv.writer(destination) if destination else None
        if writer:
            writer.writerow(["username", "pass", "expires_at"])
        issued, refused = 0, []
        many = len(names) > 1
        try:
            for index, name in enumerate(names, start=1):
                problem = self._issue_one(
                    name, policy=policy, approver=approver, minutes=lifetime, note=note
                )
                if isinstance(problem, str):
                    refused.append((name, problem))
                    self.stderr.write(
                        _("%(name)s: refused: %(why)s") % {"name": name, "why": problem}
                    )
                else:
                    username, value, expires = problem
                    issued += 1
                    expiry = timezone.localtime(expires).isoformat(timespec="minutes")
                    if writer:
                        # A name a spreadsheet would read as a formula is written as text.
                        writer.writerow([cell(username), value, expiry])
                    else:
                        self.stdout.write(f"{username}\t{value}\t{expiry}")
                if many and (index % PROGRESS_EVERY == 0 or index == len(names)):
                    self.stderr.write(
                        _("  %(done)s / %(total)s done")
                        % {"done": f"{index:,}", "total": f"{len(names):,}"}
                    )
        finally:
            if destination:
                destination.close()
                if not issued:
                    # A file of headings only would stand in the way of the same command run
                    # again once the names are put right (an existing file is never replaced).
                    os.unlink(output)
        summary = ngettext("%(count)s pass issued", "%(count)s passes issued", issued) % {
            "count": f"{issued:,}"
        }
        if output and issued:
            summary += " " + _("(written to %(path)s)") % {"path": output}
        if refused:
            summary += "; " + ngettext("%(count)s refused", "%(count)s refused", len(refused)) % {
                "count": f"{len(refused):,}"
            }
        # Passes alone go to standard output (for a pipe); the rest to standard error.
        self.stderr.write(summary + ".")
        if refused:
            raise CommandError(
                ngettext(
                    "%(count)s name was refused (see above).",
                    "%(count)s names were refused (see above).",
                    len(refused),
                )
                % {"count": f"{len(refused):,}"}
            )

    def _issue_one(self, name: str, *, policy, approver, minutes, note):
        """(username, pass, expiry), or why not."""
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: name}).first()  # canonical already
        if user is None:
            return _("no such account here (in directory mode, run sync_directory first)")
        if not policy.in_scope(user):
            return _("not in the policy's scope, or not active")
        if flows.needs_two_people(user) and approver is None:
            return _("an administrator account: needs --approved-by a Helpdesk administrator")
        try:
            item = flows.request_pass(
                request=None,
                user=user,
                agent=None,
                verification=Verification.ONBOARDING,
                note=note,
                lifetime_minutes=minutes,
                approved_by=approver if flows.needs_two_people(user) else None,
            )
            value = flows.reveal(request=None, item=item, agent=None)
        except flows.Refused as refusal:
            return str(refusal.message)
        item.refresh_from_db()
        return user.get_username(), value, item.expires_at
