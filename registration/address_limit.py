"""Failed sign-ins per client address (docs/security.md, "Sign-in"): at most
SSPR_SIGN_IN_FAILURES_PER_IP an hour from one address, on every page that checks a password or
a pass (/ssprsetup/signin/, /ssprsetup/pass/, /admin/login/), counted over the last sixty
minutes. Past it, nothing is checked or counted until the failures that reached it are an hour
old, so spraying one password over many names from one address stops there, whichever sign-in
page it uses."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sspr_site import counting
from sspr_site.network import client_address, limit_key

from .conf import app_settings

TOO_MANY = _("Too many failed sign-ins from your network. Wait an hour and try again.")


def _key(request: HttpRequest) -> str:
    # Events of the last hour (a sorted set), under a name of their own: the counters of the
    # release before, a number under the old name, expire by themselves.
    return f"sspr:signin-failed:{limit_key(client_address(request)) or 'unknown'}"


HOUR = 3600


def failures(request: HttpRequest) -> int:
    """The address's failed sign-ins in the last sixty minutes, whenever they began: a window
    counted from the first failure would let through a limit's worth more at its edge."""
    return counting.recent(_key(request), HOUR)


def reached(request: HttpRequest) -> bool:
    return failures(request) >= app_settings.SIGN_IN_FAILURES_PER_IP


def checked_and_refused(form) -> bool:
    """Whether a sign-in form tried the name and what was typed, and refused them: an empty
    or overlong field is not a try, and does not count."""
    return form.has_error(NON_FIELD_ERRORS, "invalid_login") or form.has_error(
        NON_FIELD_ERRORS, "inactive"
    )


def count_failure(request: HttpRequest) -> None:
    """One more failed sign-in from this address (a directory that could not be reached raises
    before this: only real failures count)."""
    counting.count_recent(_key(request), HOUR, cap=app_settings.SIGN_IN_FAILURES_PER_IP)
