"""What the registration pages keep in the session, in one place."""

from __future__ import annotations

import time

from django.http import HttpRequest

from .conf import app_settings

PASSWORD_CHECKED_AT = "sspr_password_checked_at"
CHECK_AFTER_SIGN_IN = "sspr_check_registration"
RETURN_TO = "sspr_return_to"


def mark_password_checked(request: HttpRequest) -> None:
    request.session[PASSWORD_CHECKED_AT] = int(time.time())


def password_recently_checked(request: HttpRequest) -> bool:
    checked_at = request.session.get(PASSWORD_CHECKED_AT)
    recent = app_settings.RECENT_PASSWORD_SECONDS
    return isinstance(checked_at, int) and time.time() - checked_at < recent


def set_return_to(request: HttpRequest, path: str) -> None:
    request.session[RETURN_TO] = path


def end_interrupt(request: HttpRequest) -> str | None:
    """Stop asking at sign-in; return where the user was heading, if anywhere."""
    request.session.pop(CHECK_AFTER_SIGN_IN, None)
    return request.session.pop(RETURN_TO, None)


def interrupted(request: HttpRequest) -> bool:
    return bool(request.session.get(CHECK_AFTER_SIGN_IN))
