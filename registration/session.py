"""What the registration pages keep in the session, in one place."""

from __future__ import annotations

import time

from cryptography.fernet import InvalidToken
from django.http import HttpRequest

from delivery.sealing import seal, unseal

from .conf import RECENT_PASSWORD_SECONDS

PASSWORD_CHECKED_AT = "sspr_password_checked_at"
PENDING = "sspr_pending"
CHECK_AFTER_SIGN_IN = "sspr_check_registration"
RETURN_TO = "sspr_return_to"


def mark_password_checked(request: HttpRequest) -> None:
    request.session[PASSWORD_CHECKED_AT] = int(time.time())


def password_recently_checked(request: HttpRequest) -> bool:
    checked_at = request.session.get(PASSWORD_CHECKED_AT)
    return isinstance(checked_at, int) and time.time() - checked_at < RECENT_PASSWORD_SECONDS()


def set_pending(request: HttpRequest, slug: str, destination: str) -> None:
    """Remember the number or address being verified. Sealed as queued jobs are: the session
    lives in the cache and the session table, which must never hold a full number or address
    (docs/security.md §21)."""
    pending = dict(request.session.get(PENDING, {}))
    pending[slug] = seal({"slug": slug, "destination": destination})
    request.session[PENDING] = pending


def get_pending(request: HttpRequest, slug: str) -> str | None:
    sealed = request.session.get(PENDING, {}).get(slug)
    if not isinstance(sealed, str):
        return None
    try:
        data = unseal(sealed)
    except (InvalidToken, ValueError, TypeError):
        return None  # sealed under another key, or not by us: start again
    if not isinstance(data, dict) or data.get("slug") != slug:
        return None
    destination = data.get("destination")
    return destination if isinstance(destination, str) else None


def clear_pending(request: HttpRequest, slug: str) -> None:
    pending = dict(request.session.get(PENDING, {}))
    if pending.pop(slug, None) is not None:
        request.session[PENDING] = pending


def set_return_to(request: HttpRequest, path: str) -> None:
    request.session[RETURN_TO] = path


def end_interrupt(request: HttpRequest) -> str | None:
    """Stop asking at sign-in; return where the user was heading, if anywhere."""
    request.session.pop(CHECK_AFTER_SIGN_IN, None)
    return request.session.pop(RETURN_TO, None)


def interrupted(request: HttpRequest) -> bool:
    return bool(request.session.get(CHECK_AFTER_SIGN_IN))
