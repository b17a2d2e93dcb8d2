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
