"""What the sign-in lockout keeps of a failure (docs/security.md §39, rules 19 and 21): a keyed
digest of the name, never the name typed, and none of the form, whichever page counted it."""

from __future__ import annotations

import importlib
import logging

import pytest
from axes.models import AccessAttempt
from django.test import Client

from audit.models import Event, EventKind
from directory.lockout import lockout_key
from tests.support.people import sign_in

pytestmark = pytest.mark.django_db

NEW = "Zebra-Lantern-Quartz-2026"
NEAR_MISS = "correct-horse-battery-stapl"
PASTED = "Tr0ub4dor&3-secret"


def test_a_wrong_current_password_at_a_change_keeps_no_password(make_user, admin_client):
    make_user("rita")
    client = Client()
    sign_in(client, "rita")
    page = client.post(
        "/ssprsetup/password/",
        {"current_password": NEAR_MISS, "new_password1": NEW, "new_password2": NEW},
    )
    assert page.status_code == 200
    attempt = AccessAttempt.objects.get()
    assert attempt.username == lockout_key("rita")
    stored = f"{attempt.post_data} {attempt.get_data}"
    assert NEW not in stored and NEAR_MISS not in stored
    shown = admin_client.get(f"/admin/axes/accessattempt/{attempt.pk}/change/").content.decode()
    assert NEW not in shown and NEAR_MISS not in shown


def test_a_password_typed_as_the_name_is_neither_kept_nor_logged(make_user, caplog):
    make_user("rita")
    with caplog.at_level(logging.DEBUG):
        for _ in range(2):
            Client().post("/ssprsetup/signin/", {"username": PASTED, "password": "x"})
    assert PASTED not in caplog.text
    attempt = AccessAttempt.objects.get()
    assert PASTED not in f"{attempt.username} {attempt.post_data}"
    assert attempt.failures_since_start == 2  # one count for the name, all the same


def test_the_count_still_locks_the_name(make_user):
    make_user("rita")
    for _ in range(5):
        Client().post("/ssprsetup/signin/", {"username": "rita", "password": "wrong"})
    assert sign_in(Client(), "rita").status_code == 429


def test_records_kept_before_are_sealed_when_the_site_is_upgraded():
    from django.apps import apps

    step = importlib.import_module("registration.migrations.0012_lockout_records_sealed")
    AccessAttempt.objects.create(
        username="rita",
        ip_address="192.0.2.7",
        user_agent="test",
        failures_since_start=1,
        get_data="",
        post_data=f"current_password={NEAR_MISS}&new_password1={NEW}",
        http_accept="",
        path_info="/ssprsetup/password/",
    )
    for n in range(2500):  # past a database's first fetch of rows, names before the digits
        AccessAttempt.objects.create(
            username=f"0{n:05d}", ip_address="192.0.2.8", user_agent="test", failures_since_start=1
        )
    for _ in range(2):  # records with no name, which lock nothing
        AccessAttempt.objects.create(
            username=None, ip_address="192.0.2.9", user_agent="test", failures_since_start=1
        )
    step.seal_lockout_records(apps, None)
    assert AccessAttempt.objects.get(username=lockout_key("rita")).post_data == ""
    names = set(AccessAttempt.objects.values_list("username", flat=True))
    assert names == {lockout_key("rita")} | {lockout_key(f"0{n:05d}") for n in range(2500)}


def test_tries_while_locked_do_not_push_the_lock_back(make_user):
    """Locked after five failures: a try meanwhile, even with the right password, is refused
    unchecked, counts as nothing, and the history says the name was locked."""
    make_user("rita")
    for _ in range(5):
        Client().post("/ssprsetup/signin/", {"username": "rita", "password": "wrong"})
    before = list(AccessAttempt.objects.values_list("failures_since_start", "attempt_time"))
    assert sign_in(Client(), "rita").status_code == 429
    after = list(AccessAttempt.objects.values_list("failures_since_start", "attempt_time"))
    assert after == before
    reasons = [
        event.details.get("reason")
        for event in Event.objects.filter(kind=EventKind.SIGN_IN_FAILED).order_by("pk")
    ]
    # Five checked and counted (the fifth set the lock), then one refused unchecked.
    assert reasons == [None] * 5 + ["locked_out"]
