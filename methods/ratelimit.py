"""Sending limits kept in the shared cache, so every worker counts the same sends
(docs/security.md, "Sending limits")."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

from .conf import app_settings

# Limits that belong to the organisation as a whole: a refused attempt never counts towards
# them, or one person hammering their own limit would use up everyone's budget.
SHARED_SCOPES = frozenset({"prefix", "overall"})


def _window_key(scope: str, value: str, window: int) -> str:
    # Hash the value: cache keys must not hold phone numbers or addresses in clear.
    digest = hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()[:32]
    return f"sspr:send:{scope}:{digest}:{int(time.time() // window)}"


def _incr(key: str, window: int, delta: int = 1) -> int:
    cache.add(key, 0, timeout=window + 60)
    try:
        return cache.incr(key, delta)
    except ValueError:  # expired between add and incr
        cache.add(key, max(delta, 0), timeout=window + 60)
        return max(delta, 0)


def hit(counters: dict[str, str]) -> str | None:
    """Count one send; return the first scope over its limit (nothing may be sent), or None.

    The personal scopes (user, address, destination) count every attempt, even past a refusal,
    so hammering one does not free another. The shared scopes (country prefix, overall) count
    only a message that really goes out.
    """
    limits = app_settings.SEND_LIMITS
    window = app_settings.SEND_LIMIT_WINDOW
    scoped = [(scope, value, limits[scope]) for scope, value in counters.items() if scope in limits]
    exceeded = None
    for scope, value, limit in scoped:
        if scope in SHARED_SCOPES:
            continue
        if _incr(_window_key(scope, value, window), window) > limit and exceeded is None:
            exceeded = scope
    if exceeded is not None:
        return exceeded
    counted: list[str] = []
    for scope, value, limit in scoped:
        if scope not in SHARED_SCOPES:
            continue
        key = _window_key(scope, value, window)
        counted.append(key)
        if _incr(key, window) > limit:
            for key in counted:  # this message does not go out: take it back
                _incr(key, window, -1)
            return scope
    return None
