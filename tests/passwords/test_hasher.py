"""The password hasher: Argon2id at OWASP's recommended cost from settings, older hashes that
still verify and are made again at the next sign-in, and at most SSPR_CONCURRENT_HASHES hashes
at once per process, past which a clear "busy" page changes nothing (docs/performance.md,
"The password hasher")."""

from __future__ import annotations

import threading
import time

import pytest
from argon2 import extract_parameters
from argon2.low_level import Type
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.contrib.sessions.models import Session
from django.test import RequestFactory

from audit.models import Event
from passwords import hashers
from registration.address_limit import failures as sign_in_failures
from tests.support.people import PASSWORD

pytestmark = pytest.mark.django_db

BUSY = "This service is busy just now. Nothing was changed; try again in a moment."


def parameters(encoded: str):
    assert encoded.startswith("argon2$argon2id$")
    return extract_parameters(encoded.removeprefix("argon2"))


def sign_in(client, username="alice", password=PASSWORD):
    return client.post("/ssprsetup/signin/", {"username": username, "password": password})


def test_new_passwords_are_hashed_with_owasps_argon2id(make_user):
    alice = make_user("alice")
    used = parameters(alice.password)
    assert used.type is Type.ID
    assert (used.time_cost, used.memory_cost, used.parallelism) == (2, 19 * 1024, 1)
    assert alice.check_password(PASSWORD)
    assert not alice.check_password(PASSWORD + "x")


def test_the_parameters_come_from_settings(settings):
    settings.SSPR_ARGON2_TIME_COST = 3
    settings.SSPR_ARGON2_MEMORY_KIB = 12 * 1024
    settings.SSPR_ARGON2_PARALLELISM = 2
    encoded = make_password("a long enough passphrase")
    used = parameters(encoded)
    assert (used.time_cost, used.memory_cost, used.parallelism) == (3, 12 * 1024, 2)
    assert check_password("a long enough passphrase", encoded)


def test_a_hash_made_with_djangos_old_default_signs_in_and_is_made_again(client, make_user):
    alice = make_user("alice")
    alice.password = DjangoArgon2().encode(PASSWORD, DjangoArgon2().salt())
    alice.save(update_fields=["password"])
    old = parameters(alice.password)
    assert (old.time_cost, old.memory_cost, old.parallelism) == (2, 100 * 1024, 8)

    response = sign_in(client)

    assert response.status_code == 302
    assert "_auth_user_id" in client.session
    alice.refresh_from_db()
    new = parameters(alice.password)
    assert (new.time_cost, new.memory_cost, new.parallelism) == (2, 19 * 1024, 1)
    assert alice.check_password(PASSWORD)


def test_a_wrong_password_leaves_an_old_hash_as_it_was(client, make_user):
    alice = make_user("alice")
    old = DjangoArgon2().encode(PASSWORD, DjangoArgon2().salt())
    alice.password = old
    alice.save(update_fields=["password"])

    sign_in(client, password="not-the-password-at-all")

    alice.refresh_from_db()
    assert alice.password == old
    assert sign_in_failures(RequestFactory().post("/ssprsetup/signin/")) == 1  # counted here


def test_a_hash_stored_by_another_build_of_argon2_signs_in_here(client, make_user):
    # `make install` compiles Argon2 for the host's processor where it can
    # (scripts/argon2_for_this_cpu.sh); a host with the published build shares the database.
    # The reference implementation's own answer for its test vector (Argon2id, version 19,
    # "password" with the salt "somesalt", 64 MiB, two passes) must verify here.
    reference = (
        "argon2$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
        "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
    )
    assert check_password("password", reference)
    assert not check_password("Password", reference)
    alice = make_user("alice", password="password")
    alice.password = reference
    alice.save(update_fields=["password"])

    response = sign_in(client, password="password")

    assert response.status_code == 302
    assert "_auth_user_id" in client.session


@pytest.fixture
def one_slot(settings):
    settings.SSPR_CONCURRENT_HASHES = 1
    settings.SSPR_HASH_WAIT_SECONDS = 0.2
    yield hashers.slots()


def test_sign_in_while_every_hashing_slot_is_taken_is_busy_and_changes_nothing(
    client, make_user, one_slot, settings
):
    alice = make_user("alice")
    sessions, events = Session.objects.count(), Event.objects.count()

    with hashers.turn():  # another request's hash, for longer than the wait
        response = sign_in(client)

    assert response.status_code == 503
    assert BUSY in response.content.decode()
    assert response["Retry-After"] == "1"
    assert response["Cache-Control"] == "no-store"
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert Session.objects.count() == sessions
    assert Event.objects.count() == events
    assert not AccessAttempt.objects.exists()
    assert not AccessFailureLog.objects.exists()
    assert sign_in_failures(RequestFactory().post("/ssprsetup/signin/")) == 0
    alice.refresh_from_db()
    assert alice.last_login is None

    # Once the slot is free, the same sign-in goes through.
    assert sign_in(client).status_code == 302
    assert "_auth_user_id" in client.session


def test_an_unknown_username_while_busy_gets_the_same_page(client, db, one_slot):
    # Django hashes the typed password for an unknown username too (same time as a known one).
    with hashers.turn():
        response = sign_in(client, username="nobody-here")
    assert response.status_code == 503
    assert BUSY in response.content.decode()


def test_past_the_wait_the_hasher_says_busy(one_slot):
    with hashers.turn(), pytest.raises(hashers.HasherBusy):
        make_password("a long enough passphrase")


def test_a_second_hash_waits_for_the_first_then_proceeds(settings):
    settings.SSPR_CONCURRENT_HASHES = 1
    settings.SSPR_HASH_WAIT_SECONDS = 5
    done = threading.Event()
    result: list[str] = []

    def second():
        result.append(make_password("a long enough passphrase"))
        done.set()

    with hashers.turn():
        thread = threading.Thread(target=second)
        thread.start()
        assert not done.wait(0.3)  # waiting for the slot the first holds
    thread.join(5)
    assert done.is_set()
    assert check_password("a long enough passphrase", result[0])


def test_no_more_than_the_bound_hash_at_once(settings, monkeypatch):
    settings.SSPR_CONCURRENT_HASHES = 2
    settings.SSPR_HASH_WAIT_SECONDS = 30
    lock, running, most = threading.Lock(), [0], [0]
    real = DjangoArgon2.encode

    def counted(self, password, salt):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        try:
            return real(self, password, salt)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(DjangoArgon2, "encode", counted)
    threads = [threading.Thread(target=make_password, args=("passphrase",)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most[0] == 2


def test_the_first_hasher_is_the_projects_and_djangos_argon2_does_not_shadow_it(settings):
    # Django keeps one hasher per algorithm name, the last listed: its own Argon2 hasher after
    # this one would verify every "argon2" hash outside the bound, and hash answers at 100 MiB.
    assert settings.PASSWORD_HASHERS[0] == "passwords.hashers.Argon2PasswordHasher"
    assert "django.contrib.auth.hashers.Argon2PasswordHasher" not in settings.PASSWORD_HASHERS
    assert isinstance(get_hasher("argon2"), hashers.Argon2PasswordHasher)
