"""Checks that only mean something on the real services: PostgreSQL and Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction

from methods import ratelimit
from methods.models import MethodKind, Purpose, VerificationCode

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgres
@pytest.mark.django_db
def test_codes_are_locked_for_update_on_postgresql(user):
    assert connection.vendor == "postgresql"
    VerificationCode.objects.create(
        user=user, name="p", method=MethodKind.AUTHENTICATION_PHONE, purpose=Purpose.REGISTER
    )
    with transaction.atomic():
        locked = VerificationCode.locked_for(
            user=user, method=MethodKind.AUTHENTICATION_PHONE, purpose=Purpose.REGISTER
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND granted"
            )
            assert cursor.fetchone()[0] >= 1
    assert locked is not None


@pytest.mark.redis
def test_send_limits_are_shared_between_worker_processes(settings):
    settings.SSPR_SEND_LIMITS = {"user": 2}
    script = (
        "import django; django.setup();"
        "from methods import ratelimit;"
        "print(ratelimit.hit({'user': 'shared-test'}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sspr_site.settings"}
    env.pop("PYTEST_CURRENT_TEST", None)
    for _ in range(2):  # two sends counted by another process
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.stdout.strip() == "None", out.stderr
    # This process sees the other worker's counts: the third send is over the limit.
    assert ratelimit.hit({"user": "shared-test"}) == "user"


@pytest.mark.redis
def test_the_redis_script_counts_as_the_plain_cache_does(settings, monkeypatch):
    """methods/ratelimit.py counts on Redis in one script, elsewhere with the cache's own calls:
    the same answers and the same counts for the same sends, refusals and take-backs included."""
    from django.core.cache import cache
    from django.core.cache.backends.locmem import LocMemCache

    from sspr_site import counting

    assert hasattr(cache, "redis_client")
    settings.SSPR_SEND_LIMITS = {"user": 3, "destination": 4, "prefix": 2, "overall": 3}
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_000.0)
    run = os.urandom(4).hex()
    sends = [
        {
            "user": f"{run}-u{n % 3}",
            "destination": f"{run}-d{n % 2}",
            "prefix": f"{run}-p{n % 4 // 2}",
            "overall": f"{run}-all",
        }
        for n in range(14)
    ]
    on_redis = [ratelimit.hit(counters) for counters in sends]
    plain = LocMemCache(f"plain-{run}", {})
    monkeypatch.setattr(ratelimit, "cache", plain)
    monkeypatch.setattr(counting, "cache", plain)  # where the plain path counts
    on_plain = [ratelimit.hit(counters) for counters in sends]
    assert on_redis == on_plain
    assert {None, "prefix", "overall"} <= set(on_redis)  # shared refusals were taken back
    window = ratelimit.app_settings.SEND_LIMIT_WINDOW
    for key in {
        ratelimit._window_key(scope, value, window)
        for counters in sends
        for scope, value in counters.items()
    }:
        assert (cache.get(key) or 0) == (plain.get(key) or 0), key


@pytest.mark.redis
def test_a_counter_on_redis_counts_and_expires_as_on_the_plain_cache(monkeypatch):
    """sspr_site/counting.py: one script on Redis, the cache's own calls elsewhere; the same
    values, a new counter kept `keep` seconds from its first count, never extended by the next."""
    from django.core.cache import cache
    from django.core.cache.backends.locmem import LocMemCache

    from sspr_site import counting

    assert hasattr(cache, "redis_client")
    key = f"sspr:test:count:{os.urandom(4).hex()}"
    steps = [1, 1, 1, -1, 1]
    on_redis = [counting.count(key, 120, by) for by in steps]
    client = cache.redis_client()
    raw = cache.make_and_validate_key(key)
    assert 110 <= client.ttl(raw) <= 120
    client.expire(raw, 50)
    counting.count(key, 120)
    assert client.ttl(raw) <= 50  # counting again does not keep it longer
    assert cache.get(key) == on_redis[-1] + 1  # what the cache itself reads back
    plain = LocMemCache(f"plain-{key}", {})
    monkeypatch.setattr(counting, "cache", plain)
    assert [counting.count(key, 120, by) for by in steps] == on_redis == [1, 2, 3, 2, 3]


@pytest.mark.redis
@pytest.mark.parametrize("where", ["redis", "plain"])
def test_recent_events_count_for_their_window_and_a_flood_keeps_no_more_than_the_cap(
    monkeypatch, where
):
    """sspr_site/counting.py `count_recent`: each event counts for exactly `window` seconds;
    past the cap an event is answered over the limit but not kept, so a flood holds `cap`
    members (not one per request) and whoever keeps trying waits no longer than the window
    after the last event let through. The same on Redis and on the plain cache."""
    from django.core.cache import cache
    from django.core.cache.backends.locmem import LocMemCache

    from sspr_site import counting

    assert hasattr(cache, "redis_client")
    if where == "plain":
        monkeypatch.setattr(counting, "cache", LocMemCache(f"plain-{os.urandom(4).hex()}", {}))
    key = f"sspr:test:recent:{os.urandom(4).hex()}"
    clock = [1_800_000_000.0]
    monkeypatch.setattr(counting.time, "time", lambda: clock[0])
    seen = []
    for _ in range(3):
        seen.append(counting.count_recent(key, 3600, cap=5))
        clock[0] += 600
    clock[0] += 1790  # the first was made 3,590 seconds ago
    seen += [counting.count_recent(key, 3600, cap=5) for _ in range(1000)]
    assert seen[:6] == [1, 2, 3, 4, 5, 6] and set(seen[5:]) == {6}
    if where == "redis":
        assert cache.redis_client().zcard(cache.make_and_validate_key(key)) == 5
    assert counting.recent(key, 3600) == 5
    clock[0] += 11  # the first is an hour old: one may go through again
    assert counting.count_recent(key, 3600, cap=5) == 5
    assert counting.recent(key, 3600) == 5


@pytest.mark.redis
@pytest.mark.parametrize("where", ["redis", "plain"])
def test_things_under_way_are_counted_while_they_last_and_drop_out_past_their_time(
    monkeypatch, where
):
    """sspr_site/counting.py `under_way`: each block counts while it runs, the count is never
    below one, and one whose process ended without leaving its block drops out after its
    time, never lowering the count of those that came after it."""
    from django.core.cache import cache
    from django.core.cache.backends.locmem import LocMemCache

    from sspr_site import counting

    assert hasattr(cache, "redis_client")
    if where == "plain":
        monkeypatch.setattr(counting, "cache", LocMemCache(f"plain-{os.urandom(4).hex()}", {}))
    key = f"sspr:test:under-way:{os.urandom(4).hex()}"
    clock = [1_800_000_000.0]
    monkeypatch.setattr(counting.time, "time", lambda: clock[0])
    with counting.under_way(key, 60) as first:
        with counting.under_way(key, 60) as second:
            assert (first, second) == (1, 2)
        with counting.under_way(key, 60) as third:
            assert third == 2  # the second has ended
    with counting.under_way(key, 60) as alone:
        assert alone == 1
    # A try whose process died inside its block: it holds the count for its time, no longer.
    stuck = counting.under_way(key, 60)
    assert stuck.__enter__() == 1
    clock[0] += 30
    with counting.under_way(key, 60) as later:
        assert later == 2
    clock[0] += 31
    with counting.under_way(key, 60) as after:
        assert after == 1


@pytest.mark.redis
@pytest.mark.parametrize("store", ["redis", "plain"])
def test_sends_either_side_of_the_hour_count_as_one_hour(settings, monkeypatch, store):
    """Five texts to a number at 10:59:59 and five more at 11:00:01: only the first five go
    out, on Redis and on the plain cache alike. Counted per clock hour alone, all ten went out
    within two seconds; the hour before is weighed by how much of it is still within the last
    sixty minutes, so sends come back as the earlier ones leave the hour."""
    from django.core.cache.backends.locmem import LocMemCache

    from sspr_site import counting

    if store == "plain":
        plain = LocMemCache(f"plain-{os.urandom(4).hex()}", {})
        monkeypatch.setattr(ratelimit, "cache", plain)
        monkeypatch.setattr(counting, "cache", plain)
    settings.SSPR_SEND_LIMITS = {"destination": 5}
    hour = 1_800_000_000.0  # a whole number of hours

    def sends_at(number: str, moment: float, count: int) -> list:
        monkeypatch.setattr(ratelimit.time, "time", lambda: moment)
        return [ratelimit.hit({"destination": number}) for _ in range(count)]

    first, second = (f"+4474001{os.urandom(3).hex()}" for _ in range(2))
    assert sends_at(first, hour - 1, 5) == [None] * 5
    assert sends_at(first, hour + 1, 5) == ["destination"] * 5
    # Half an hour on, half the earlier sends have left the last sixty minutes: two more.
    assert sends_at(second, hour - 1, 5) == [None] * 5
    assert sends_at(second, hour + 1800, 3) == [None, None, "destination"]
