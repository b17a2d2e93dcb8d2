"""Counters in the shared cache: attempts, failures and starts counted per name, address or
window (docs/security.md, "Several workers": every worker counts the same events).

`count(key, keep)` adds one and answers the new value; a counter is kept `keep` seconds from its
first count. On Redis that is one script (the count, and the expiry when the counter is new):
one round trip instead of three (add, exists, increment), with nothing between them, so a
counter can no longer expire between its creation and its increment. Elsewhere (the in-process
cache of development) the cache's own calls do the same.
"""

from __future__ import annotations

from django.core.cache import cache

from .redis_cache import RedisScript

SCRIPT = RedisScript("""
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return value
""")


def count(key: str, keep: int, by: int = 1) -> int:
    """Add `by` to the counter `key` and return its value; a new counter is kept `keep` seconds."""
    redis_client = getattr(cache, "redis_client", None)
    if redis_client is not None:
        return int(SCRIPT(redis_client(), [cache.make_and_validate_key(key)], [by, keep]))
    cache.add(key, 0, timeout=keep)
    try:
        return cache.incr(key, by)
    except ValueError:  # expired between add and incr
        cache.add(key, max(by, 0), timeout=keep)
        return max(by, 0)
