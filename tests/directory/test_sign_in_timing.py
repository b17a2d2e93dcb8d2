"""Sign-in timing in directory mode (docs/security.md §42): an unknown name, a wrong password,
an account out of scope, one the directory has locked and one it has disabled answer in the
same time at /ssprsetup and /admin, and alike at the reset portal's first step: over rounds in
shuffled order, within 10% of each other (compared as in tests/support/timing.py)."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.test import Client

from directory.servers import PEOPLE
from tests.attacks.test_enumeration import TIMES
from tests.support import timing
from tests.support.directory import lock_out, use_directory
from tests.support.resets import start_reset

pytestmark = [pytest.mark.directory, pytest.mark.django_db, pytest.mark.timing]

SAMPLES = 40
# The portal's first step takes about 10 ms (the sign-ins 120 ms and more): a millisecond of a
# busy machine's noise is already 10% of it, so it is sampled more often.
PORTAL_SAMPLES = 120
FLOOR_MS = 120
KINDS = {
    "unknown": ("nobody", "not-the-password-1"),
    "wrong password": ("ada", "not-the-password-1"),
    "out of scope": ("outsider", "Outsider-Directory-2026"),
    "locked": ("grace", "Grace-Directory-2026"),
    "disabled": ("ken", "Ken-Directory-2026"),
}


@pytest.fixture
def kinds(settings, slapd, db):
    use_directory(settings, {**slapd.environment(), "LDAP_SIGN_IN_FLOOR_MS": str(FLOOR_MS)})
    settings.MIDDLEWARE = ["tests.attacks.test_enumeration.Stopwatch", *settings.MIDDLEWARE]
    call_command("sync_directory", verbosity=0)  # the portal knows people from the mirror
    # Every sample is tried: the site's own lockout would answer later ones at once for every
    # name alike, which is not what is measured here.
    settings.AXES_FAILURE_LIMIT = 10**9
    settings.SSPR_SIGN_IN_FAILURES_PER_IP = 10**9
    settings.SSPR_RESET_ATTEMPTS_PER_HOUR = 10**9
    settings.SSPR_RESET_STARTS_PER_IP_PER_HOUR = 10**9
    settings.SSPR_CAPTCHA_DIFFICULTY = 50
    lock_out(slapd, "grace")
    conn = slapd.connect()
    import ldap

    # The policy overlay's mark for "disabled by an administrator".
    conn.modify_s(
        f"uid=ken,{PEOPLE}", [(ldap.MOD_REPLACE, "pwdAccountLockedTime", [b"000001010000Z"])]
    )
    conn.unbind_s()
    yield KINDS
    from directory.accounts import reset_caches

    reset_caches()


def sign_in(page: str, username: str, password: str) -> tuple[int, float]:
    client = Client()
    started = time.perf_counter()
    response = client.post(page, {"username": username, "password": password})
    return response.status_code, time.perf_counter() - started


def portal_start(username: str) -> tuple[int, float]:
    # The server's own time (the proof of work is solved by the client before it).
    TIMES.clear()
    response = start_reset(Client(), username, action=None)
    return response.status_code, TIMES[-1]


def test_every_kind_of_name_takes_the_same_time(kinds):
    steps = {
        "/ssprsetup": lambda user, password: sign_in("/ssprsetup/signin/", user, password),
        "/admin": lambda user, password: sign_in("/admin/login/", user, password),
        "/passwordreset": lambda user, _password: portal_start(user),
    }
    for step in steps.values():  # warm up
        step("nobody", "x-x-x-x-x-x")
    statuses: dict[tuple[str, str], set[int]] = defaultdict(set)

    def sample(orders: list[list[str]]) -> timing.Times:
        times: timing.Times = defaultdict(lambda: defaultdict(list))
        for round_number, order in enumerate(orders):
            for kind in order:
                username, password = kinds[kind]
                for name, step in steps.items():
                    if name != "/passwordreset" and round_number >= SAMPLES:
                        continue
                    status, seconds = step(username, password)
                    times[name][kind].append(seconds)
                    statuses[(name, kind)].add(status)
        return times

    slow, report = timing.judged(sample, kinds, PORTAL_SAMPLES)
    for name in steps:
        assert len({frozenset(statuses[(name, kind)]) for kind in kinds}) == 1, name
    print(report)
    assert not slow, report
