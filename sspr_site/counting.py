"""Counters in the shared cache: attempts, failures and starts counted per name, address or
window (docs/security.md, "Several workers": every worker counts the same events).

`count(key, keep)` adds one and answers the new value; a counter is kept `keep` seconds from its
first count. On Redis that is one script (the count, and the expiry when the counter is new):
one round trip instead of three (add, exists, increment), with nothing between them, so a
counter can no longer expire between its creation and its increment. Elsewhere (the in-process
cache of development) the cache's own calls do the same.
"""

from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager

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


# Events of the last `window` seconds: one member per event, scored by when it happened; older
# ones are dropped. Once `cap` are kept, an event is answered (cap + 1) but not kept, so what is
# refused neither extends the wait nor takes memory.
RECENT = RedisScript("""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local kept = redis.call('ZCARD', KEYS[1])
if kept >= tonumber(ARGV[4]) then return kept + 1 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return kept + 1
""")


def count_recent(key: str, window: int, cap: int) -> int:
    """Count one event under `key` and return how many fell within the last `window` seconds,
    this one included. Unlike a count per fixed window, ten events either side of a window's
    edge are ten, and each stops counting exactly `window` seconds after it happened. At most
    `cap` are kept (the limit the caller refuses past): past it the answer is cap + 1 and the
    event is not kept, so someone who keeps trying waits no longer than `window` after the
    last event let through, and a flood keeps `cap` members, not one per request. On Redis one
    sorted set, in one script; elsewhere (development) a list in the cache."""
    now = time.time()
    token = f"{now:.6f}:{secrets.token_hex(4)}"
    redis_client = getattr(cache, "redis_client", None)
    if redis_client is not None:
        name = cache.make_and_validate_key(key)
        return int(RECENT(redis_client(), [name], [now - window, now, token, cap, window + 60]))
    recent = [moment for moment in cache.get(key) or [] if moment > now - window]
    if len(recent) >= cap:
        return len(recent) + 1
    recent.append(now)
    cache.set(key, recent, timeout=window + 60)
    return len(recent)


def forget_latest(key: str, window: int) -> None:
    """Take back the latest event `count_recent(key, window, …)` counted (one that turned out
    not to count against its limit)."""
    redis_client = getattr(cache, "redis_client", None)
    if redis_client is not None:
        redis_client().zpopmax(cache.make_and_validate_key(key))
        return
    kept = sorted(cache.get(key) or [])
    if kept:
        cache.set(key, kept[:-1], timeout=window + 60)


def recent(key: str, window: int) -> int:
    """How many events `count_recent` counted under `key` in the last `window` seconds, without
    counting one more."""
    now = time.time()
    redis_client = getattr(cache, "redis_client", None)
    if redis_client is not None:
        return int(redis_client().zcount(cache.make_and_validate_key(key), now - window, "+inf"))
    return sum(1 for moment in cache.get(key) or [] if moment > now - window)


# Things under way (tries of a password): one member per thing, scored by when it counts no
# more, so that one whose process ended without saying so drops out by itself.
UNDER_WAY = RedisScript("""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
""")
_local: dict[str, dict[str, float]] = {}
_local_lock = threading.Lock()


@contextmanager
def under_way(key: str, most_seconds: int):
    """Count one more thing under way under `key` while the block runs, and yield how many
    there are, this one included (at least 1). Each counts at most `most_seconds`: one whose
    process ends without leaving the block drops out then. On Redis, one set shared by every
    host; elsewhere (development) one per process."""
    token, now = secrets.token_hex(8), time.time()
    redis_client = getattr(cache, "redis_client", None)
    if redis_client is not None:
        name = cache.make_and_validate_key(key)
        client = redis_client()
        count = int(UNDER_WAY(client, [name], [now, now + most_seconds, token, most_seconds + 1]))
        try:
            yield max(count, 1)
        finally:
            client.zrem(name, token)
        return
    with _local_lock:
        entries = _local.setdefault(key, {})
        for other in [other for other, until in entries.items() if until <= now]:
            del entries[other]
        entries[token] = now + most_seconds
        count = len(entries)
    try:
        yield count
    finally:
        with _local_lock:
            entries = _local.get(key, {})
            entries.pop(token, None)
            if not entries:
                _local.pop(key, None)
