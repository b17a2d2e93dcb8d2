"""The number or address a person is verifying at /ssprsetup/<slug>/, kept in the session
between the code family's steps (methods/code/setup_views.py)."""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.http import HttpRequest

from delivery.sealing import seal, unseal

PENDING = "sspr_pending"


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


def forget_on_removal(sender, *, method, request, **kwargs) -> None:
    """A removed member of the code family forgets the number or address being verified
    (methods/lifecycle.py sends method_removed; connected in methods/apps.py)."""
    from .method import CodeMethod

    if isinstance(method, CodeMethod):
        clear_pending(request, method.slug)
