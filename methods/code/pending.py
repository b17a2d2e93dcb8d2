"""The number or address a person is verifying at /ssprsetup/<slug>/, kept in the session
between the code family's steps (methods/code/setup_views.py)."""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.http import HttpRequest

from delivery.sealing import seal, unseal

PENDING = "sspr_pending"
# The members whose number or address an administrator entered and the person is confirming:
# their pages show the step that shows it back (setup_views.code_steps).
CONFIRMING = "sspr_confirming"


def set_pending(
    request: HttpRequest,
    slug: str,
    destination: str,
    *,
    confirming: bool = False,
    proved: bool = False,
) -> None:
    """Remember the number or address being verified, and whether the change began with a
    proof with a registered method (`proved`: setup_views.change_gate). Sealed as queued jobs
    are: the session lives in the cache and the session table, which must never hold a full
    number or address (docs/security.md §21)."""
    pending = dict(request.session.get(PENDING, {}))
    pending[slug] = seal({"slug": slug, "destination": destination, "proved": proved})
    request.session[PENDING] = pending
    _mark_confirming(request, slug, confirming)


def confirming(request: HttpRequest, slug: str) -> bool:
    """Whether the number or address being verified is one an administrator entered."""
    return slug in request.session.get(CONFIRMING, ())


def _mark_confirming(request: HttpRequest, slug: str, on: bool) -> None:
    marked = [each for each in request.session.get(CONFIRMING, ()) if each != slug]
    if on:
        marked.append(slug)
    if marked or CONFIRMING in request.session:
        request.session[CONFIRMING] = marked


def _pending(request: HttpRequest, slug: str) -> dict:
    sealed = request.session.get(PENDING, {}).get(slug)
    if not isinstance(sealed, str):
        return {}
    # Unsealed once a request (a step asks several times; each unsealing decrypts and checks
    # the seal, about 45 µs): kept with the request by the sealed text itself, so a value
    # set since is unsealed anew.
    opened = request.__dict__.setdefault("_sspr_unsealed_pending", {})
    if sealed not in opened:
        try:
            opened[sealed] = unseal(sealed)
        except (InvalidToken, ValueError, TypeError):
            opened[sealed] = None  # sealed under another key, or not by us: start again
    data = opened[sealed]
    if not isinstance(data, dict) or data.get("slug") != slug:
        return {}
    return dict(data)


def get_pending(request: HttpRequest, slug: str) -> str | None:
    destination = _pending(request, slug).get("destination")
    return destination if isinstance(destination, str) else None


def began_with_proof(request: HttpRequest, slug: str) -> bool:
    """Whether the change being verified began with a proof with a registered method."""
    return _pending(request, slug).get("proved") is True


def clear_pending(request: HttpRequest, slug: str) -> None:
    pending = dict(request.session.get(PENDING, {}))
    if pending.pop(slug, None) is not None:
        request.session[PENDING] = pending
    if confirming(request, slug):
        _mark_confirming(request, slug, False)


def forget_on_removal(sender, *, method, request, **kwargs) -> None:
    """A removed member of the code family forgets the number or address being verified
    (methods/lifecycle.py sends method_removed; connected in methods/apps.py). Taken away with
    no page of the person's (request None: lifecycle.taken_away), there is no session to clear
    here."""
    from .method import CodeMethod

    if isinstance(method, CodeMethod) and request is not None:
        clear_pending(request, method.slug)
