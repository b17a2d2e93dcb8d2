"""Sending limits kept in the shared cache, so every worker counts the same sends
(docs/security.md, "Sending limits").

On Redis every counter of a send is counted, checked and, when the message may not go out,
taken back in one script: one round trip instead of three per counter, and no other send can
slip between the count and the check (docs/performance.md, "Sending limits")."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

from sspr_site import counting
from sspr_site.redis_cache import RedisScript

from .conf import app_settings

# Limits that belong to the organisation as a whole: a refused attempt never counts towards
# them, or one person hammering their own limit would use up everyone's budget.
SHARED_SCOPES = frozenset({"prefix", "overall"})


def _window_key(scope: str, value: str, window: int, ago: int = 0) -> str:
    """The counter of the window `ago` windows before the current one."""
    # Hash the value: cache keys must not hold phone numbers or addresses in clear.
    digest = hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()[:32]
    return f"sspr:send:{scope}:{digest}:{int(time.time() // window) - ago}"


def _earlier_share(window: int) -> float:
    """How much of the window before the current one is still within the last `window`
    seconds: its sends are counted in that share. Counted per clock hour alone, five sends at
    the end of one hour and five at the start of the next all went out, ten in two seconds;
    weighed so, the second five wait until the first have mostly left the last hour."""
    return 1 - (time.time() % window) / window


def _keep(window: int) -> int:
    """How long a counter is kept: through the next window too, which weighs it."""
    return 2 * window + 60


def _incr(key: str, window: int, delta: int = 1) -> int:
    return counting.count(key, _keep(window), delta)


# KEYS: each counter's current window and the one before, in pairs, the personal counters
# first, then the shared ones. ARGV: how many are personal, the seconds a counter is kept, the
# share of the window before still counted, then each counter's limit. Returns the 1-based
# position of the first counter over its limit (0: the message may go out), with the same
# rules as `_hit_each`.
COUNT_SCRIPT = RedisScript("""
local personal = tonumber(ARGV[1])
local keep = tonumber(ARGV[2])
local share = tonumber(ARGV[3])
local function count(i, by)
  local value = redis.call('INCRBY', KEYS[2 * i - 1], by)
  if value == by then redis.call('EXPIRE', KEYS[2 * i - 1], keep) end
  local before = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  return value + before * share
end
local counters = #KEYS / 2
local over = 0
for i = 1, personal do
  if count(i, 1) > tonumber(ARGV[3 + i]) and over == 0 then over = i end
end
if over > 0 then return over end
for i = personal + 1, counters do
  if count(i, 1) > tonumber(ARGV[3 + i]) then
    for j = personal + 1, i do redis.call('DECRBY', KEYS[2 * j - 1], 1) end
    return i
  end
end
return 0
""")


def hit(counters: dict[str, str]) -> str | None:
    """Count one send; return the first scope over its limit (nothing may be sent), or None.

    The personal scopes (user, address, destination) count every attempt, even past a refusal,
    so hammering one does not free another. The shared scopes (country prefix, overall) count
    only a message that really goes out.
    """
    limits = app_settings.SEND_LIMITS
    window = app_settings.SEND_LIMIT_WINDOW
    scoped = [(scope, value, limits[scope]) for scope, value in counters.items() if scope in limits]
    redis_client = getattr(cache, "redis_client", None)
    if redis_client is not None and scoped:
        return _hit_in_one_script(redis_client(), scoped, window)
    return _hit_each(scoped, window)


def _hit_in_one_script(client, scoped: list, window: int) -> str | None:
    ordered = [item for item in scoped if item[0] not in SHARED_SCOPES] + [
        item for item in scoped if item[0] in SHARED_SCOPES
    ]
    over = COUNT_SCRIPT(
        client,
        keys=[
            cache.make_and_validate_key(_window_key(scope, value, window, ago))
            for scope, value, _limit in ordered
            for ago in (0, 1)
        ],
        args=[
            sum(scope not in SHARED_SCOPES for scope, _value, _limit in ordered),
            _keep(window),
            repr(_earlier_share(window)),
            *(limit for _scope, _value, limit in ordered),
        ],
    )
    return ordered[int(over) - 1][0] if int(over) else None


def _hit_each(scoped: list, window: int) -> str | None:
    """The same counting with the cache's own calls (the in-process cache of development)."""
    share = _earlier_share(window)

    def count(scope: str, value: str) -> float:
        before = cache.get(_window_key(scope, value, window, 1)) or 0
        return _incr(_window_key(scope, value, window), window) + before * share

    exceeded = None
    for scope, value, limit in scoped:
        if scope in SHARED_SCOPES:
            continue
        if count(scope, value) > limit and exceeded is None:
            exceeded = scope
    if exceeded is not None:
        return exceeded
    counted: list[str] = []
    for scope, value, limit in scoped:
        if scope not in SHARED_SCOPES:
            continue
        counted.append(_window_key(scope, value, window))
        if count(scope, value) > limit:
            for key in counted:  # this message does not go out: take it back
                _incr(key, window, -1)
            return scope
    return None
