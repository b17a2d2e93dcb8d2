"""A code row is checked under a row lock on PostgreSQL (VerificationCode.locked_for, its query
compiled once, sspr_site/compiled_query.py): while one request checks or issues a code,
another for the same person, method and purpose waits for it."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from methods.models import MethodKind, Purpose, VerificationCode

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_code_being_checked_is_locked_against_a_second_check(make_user):
    assert connection.vendor == "postgresql"
    owner = make_user("owner")
    VerificationCode.objects.create(
        user=owner, name="phone", method=MethodKind.AUTHENTICATION_PHONE, purpose=Purpose.RESET
    )
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                assert VerificationCode.locked_for(
                    user=owner, method=MethodKind.AUTHENTICATION_PHONE, purpose=Purpose.RESET
                )
                holding.set()
                done.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        with pytest.raises(OperationalError, match="lock"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
            VerificationCode.locked_for(
                user=owner.pk, method=MethodKind.AUTHENTICATION_PHONE, purpose=Purpose.RESET
            )
        # Another purpose's row is not held.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
            assert (
                VerificationCode.locked_for(
                    user=owner.pk,
                    method=MethodKind.AUTHENTICATION_PHONE,
                    purpose=Purpose.REGISTER,
                )
                is None
            )
    finally:
        done.set()
        thread.join(timeout=30)


@pytest.mark.parametrize("told_first", [False, True], ids=["read-first", "told-first"])
def test_two_first_sends_at_once_share_one_code_row(make_user, settings, told_first):
    """The first code for a method and purpose inserts its row. Of two first sends at once, one
    inserts and holds the new row until it commits; the other's insert waits for that, finds the
    row taken, and goes on with it, locked: neither fails, and there is one row. The same when
    both were told (by a read just before) that there is no row yet."""
    from methods.code.flows import code_issue
    from methods.registry import REGISTRY
    from policy.models import Policy

    settings.SSPR_CODE_RESEND_SECONDS = 0
    owner = make_user("owner")
    phone = REGISTRY["phone"]
    policy = Policy.load()  # stored before either send, so neither waits for the other's
    inserted, release = threading.Event(), threading.Event()
    results, failures = {}, []

    def send(name: str, hold: bool) -> None:
        try:
            with transaction.atomic():
                results[name] = code_issue(
                    user=owner,
                    method=phone,
                    purpose=Purpose.REGISTER,
                    destination="+447400123456",
                    channel="sms",
                    binding=name,
                    ip="192.0.2.1",
                    policy=policy,
                    first=told_first,
                )
                if hold:  # the new row stays this transaction's until it commits
                    inserted.set()
                    release.wait(timeout=30)
        except Exception as error:  # noqa: BLE001 (the test reports it)
            failures.append(error)
        finally:
            connection.close()

    first = threading.Thread(target=send, args=("first", True))
    first.start()
    assert inserted.wait(timeout=30)
    second = threading.Thread(target=send, args=("second", False))
    second.start()
    second.join(timeout=1)
    assert second.is_alive()  # its insert waits for the first send's commit
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> %s",
            [connection.connection.info.backend_pid],
        )
        (waiting,) = cursor.fetchall()
    assert waiting[0].startswith('INSERT INTO "methods_verificationcode"')
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert failures == []
    assert results["first"].sent and results["second"].sent
    (row,) = VerificationCode.objects.filter(user=owner, purpose=Purpose.REGISTER)
    assert row.method == MethodKind.AUTHENTICATION_PHONE and row.token


def test_a_method_confirmed_while_a_registration_lapses_in_another_tab_registers_again(
    make_user, policy
):
    """One tab removes the method a registration rested on, and the registration lapses
    (registration.flows.registration_lapse, under the person's lock), while another confirms a
    phone an administrator entered (its row written again, not inserted). The confirmation
    takes the person's lock first (methods.code.flows.method_confirm), so it waits for the
    lapse's commit and its completion check counts the phone against the lapsed registration:
    the person ends registered, as their methods meet the policy, not "not registered" with
    methods that meet it."""
    from django.test import Client

    from methods.lifecycle import lock_person
    from methods.models import AuthenticationEmail, AuthenticationPhone
    from registration.models import Registration
    from tests.support.codes import last_phone_code
    from tests.support.people import sign_in
    from tests.support.registering import proved_a_moment_ago, register_email, shows_code_page

    policy.methods_required = 1
    policy.save()
    owner = make_user("owner")
    client = Client()
    sign_in(client, "owner")
    register_email(client, "owner.home@example.net")
    assert Registration.objects.get(user=owner).completed_at is not None
    AuthenticationPhone.objects.create(user=owner, number="+447400123456", prepopulated=True)
    proved_a_moment_ago(client)
    sent = client.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    assert shows_code_page(sent)
    code = last_phone_code()
    holding, release = threading.Event(), threading.Event()
    answers = []

    def lapse() -> None:  # what the removal's lapse writes, held before its commit
        try:
            with transaction.atomic():
                lock_person(owner.pk)
                AuthenticationEmail.objects.filter(user=owner).delete()
                Registration.objects.filter(user=owner).update(completed_at=None)
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def confirm() -> None:
        try:
            answers.append(client.post("/ssprsetup/phone/verify/", {"code": code}))
        finally:
            connection.close()

    first = threading.Thread(target=lapse)
    first.start()
    assert holding.wait(timeout=30)
    second = threading.Thread(target=confirm)
    second.start()
    second.join(timeout=1)
    try:
        assert second.is_alive()  # waits for the person's lock
    finally:
        release.set()
        first.join(timeout=30)
        second.join(timeout=30)
    assert answers[0].status_code == 302
    assert AuthenticationPhone.objects.get(user=owner).verified_at is not None
    assert Registration.objects.get(user=owner).completed_at is not None
