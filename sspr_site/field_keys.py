"""Secrets the service must read back (an authenticator app's key) are kept encrypted and
authenticated in the database with Fernet, under the keys of SSPR_FIELD_KEYS, newest first:
every listed key still opens what it sealed, new writes use the newest, and `reseal_secrets`
moves everything to the newest so an old key can be dropped (README, "Configuration").
Without SSPR_FIELD_KEYS the keys derive from SECRET_KEY and SECRET_KEY_FALLBACKS."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

from .conf import app_settings

__all__ = ["InvalidToken", "current_keys", "is_current", "open_sealed", "reseal", "seal"]


def current_keys() -> tuple[str, ...]:
    """The secrets in use, newest first (for caches of things sealed under them)."""
    return _secrets()


def _secrets() -> tuple[str, ...]:
    listed = tuple(app_settings.FIELD_KEYS or ())
    if listed:
        return listed
    return (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))


@lru_cache(maxsize=8)
def _fernets(secrets: tuple[str, ...]) -> tuple[Fernet, ...]:
    # Any secret string becomes a Fernet key: a keyed hash of it, for this use only.
    return tuple(Fernet(base64.urlsafe_b64encode(_derive(secret))) for secret in secrets)


def _derive(secret: str) -> bytes:
    return salted_hmac("sspr.field_keys", "at rest", secret=secret, algorithm="sha256").digest()


def _multi() -> MultiFernet:
    return MultiFernet(list(_fernets(_secrets())))


def seal(data: bytes) -> str:
    """Encrypt and authenticate `data` under the newest key."""
    return _multi().encrypt(data).decode()


def open_sealed(token: str) -> bytes:
    """The data sealed in `token`, under whichever listed key sealed it; InvalidToken when no
    listed key did (the keys changed without keeping the old one) or it was altered."""
    return _multi().decrypt(token.encode())


def is_current(token: str) -> bool:
    """Whether `token` is sealed under the newest key."""
    try:
        _fernets(_secrets())[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def reseal(token: str) -> str:
    """The same data sealed under the newest key (InvalidToken if no listed key opens it)."""
    return _multi().rotate(token.encode()).decode()
