"""Making, storing and spending recovery codes (docs/security.md §12, §21).

A code is 12 characters from a 31-character alphabet without look-alikes (about 59 bits),
shown in groups of four. Only a keyed hash is stored: HMAC-SHA256 under the site's secret key,
bound to the person. A code is spent by one conditional UPDATE (`used_at` still empty): of two
uses at once, one wins, on every database, with or without row locks."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from methods import lifecycle

from .models import RecoveryCode

SET_SIZE = 10
LENGTH = 12
GROUP = 4
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/i/l
WARN_AT = 2  # the owner is warned when this many or fewer are left


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """A code as people read it: groups of four joined by hyphens."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(typed: str) -> str:
    """What was typed, as stored: lower case, without spaces and hyphens."""
    return "".join(ch for ch in typed.casefold() if ch.isalnum())


def _digest(user_id: int, code: str, secret: str | None = None) -> str:
    return salted_hmac(
        "methods.recovery_codes", f"{user_id}|{code}", secret=secret, algorithm="sha256"
    ).hexdigest()


def _digests(user_id: int, code: str) -> list[str]:
    """The code's hash under the secret key and each key still accepted after a rotation."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [_digest(user_id, code, key) for key in keys]


def standing(user) -> tuple[int, str]:
    """How many of the person's codes are left, and their set's stamp (its newest row; "0"
    without a set), in one query. A new set's form carries the stamp of the set it replaces
    (make_set)."""
    found = RecoveryCode.objects.filter(user=user).aggregate(
        left=Count("pk", filter=Q(used_at__isnull=True)), newest=Max("pk")
    )
    return found["left"], str(found["newest"] or 0)


def make_set(user, replacing: str | None = None) -> tuple[list[str], bool] | None:
    """A new set for `user`, replacing any earlier one in the same transaction. Return the
    codes (to show once, never to keep) and whether a set was replaced. With `replacing`
    (the stamp of the set the form was drawn over, `standing`), None and nothing made when
    the set is another by now: the form was sent again (a reload, a second tab), and the set
    it made, already shown, keeps working."""
    codes = set()
    while len(codes) < SET_SIZE:
        codes.add(new_code())
    codes = sorted(codes)
    with transaction.atomic():
        # One new set at a time per person (the row lock; SQLite writes one at a time).
        lifecycle.lock_person(user.pk)
        if replacing is not None and standing(user)[1] != replacing:
            return None
        replaced = RecoveryCode.objects.filter(user=user).delete()[0] > 0
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, digest=_digest(user.pk, code)) for code in codes
        )
    return [shown(code) for code in codes], replaced


def spend(user_id: int | None, typed: str) -> bool:
    """Spend `typed` if it is one of the person's unused codes: one conditional update, the
    same statement for every account (an unknown one matches no row)."""
    code = normalise(typed)
    won = RecoveryCode.objects.filter(
        user_id=user_id or 0,
        digest__in=_digests(user_id or 0, code),
        used_at__isnull=True,
    ).update(used_at=timezone.now())
    spent = won > 0 and user_id is not None and len(code) == LENGTH
    if spent and not RecoveryCode.objects.filter(user_id=user_id, used_at__isnull=True).exists():
        lifecycle.gone(user_id, "recovery_codes")  # the last one: they count no more
    return spent


def left(user) -> int:
    return standing(user)[0]
