"""Sending limits kept in the shared cache, so every worker counts the same sends (SECURITY 9)."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

from .conf import app_settings


def _window_key(scope: str, value: str, window: int) -> str:
    # Hash the value: cache keys must not hold phone numbers or addresses in clear.
    digest = hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()[:32]
    return f"sspr:send:{scope}:{digest}:{int(time.time() // window)}"


def hit(counters: dict[str, str]) -> str | None:
    """Count one send against every scope; return the first scope over its limit, or None.

    Every scope is counted, even past a refusal, so hammering one limit does not free another.
    """
    limits = app_settings.SEND_LIMITS
    window = app_settings.SEND_LIMIT_WINDOW
    exceeded = None
    for scope, value in counters.items():
        limit = limits.get(scope)
        if limit is None:
            continue
        key = _window_key(scope, value, window)
        cache.add(key, 0, timeout=window + 60)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window + 60)
            count = 1
        if count > limit and exceeded is None:
            exceeded = scope
    return exceeded
