"""The person's lock (methods.lifecycle.lock_person) on PostgreSQL: changes of one person's
methods take it in turn, and a statement that writes rows referring to the person while it
holds other rows (the reconfirmation flag set on many registrations at once) goes on beside it
instead of deadlocking with it."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from audit.models import Event, EventKind
from methods.lifecycle import lock_person
from registration.flows import _flag
from registration.models import Registration

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_lapse_and_a_reconfirmation_flag_at_once_both_finish(make_user):
    """The lapse holds the person, then ends their registration; the flag, meanwhile, has
    marked that registration and writes its audit event, which refers to the person. With a
    lock on the whole row the event waited for the lapse and the lapse for the flag's
    registration: PostgreSQL ended one of them as a deadlock."""
    assert connection.vendor == "postgresql"
    person = make_user("owner")
    now = timezone.now()
    Registration.objects.create(user=person, completed_at=now, last_confirmed_at=now)
    holding, flagging = threading.Event(), threading.Event()
    errors = {}

    def lapse() -> None:  # registration.flows.registration_lapse, paused after its lock
        try:
            with transaction.atomic():
                lock_person(person.pk)
                holding.set()
                assert flagging.wait(timeout=30)
                time.sleep(0.5)  # the flag has its registration and is writing its event
                Registration.objects.filter(user=person).update(completed_at=None)
        except Exception as error:  # noqa: BLE001 (the test reports it)
            errors["lapse"] = repr(error)
        finally:
            connection.close()

    def flag() -> None:
        try:
            assert holding.wait(timeout=30)
            flagging.set()
            _flag(Registration.objects.filter(user=person), request=None, reason="stale")
        except Exception as error:  # noqa: BLE001
            errors["flag"] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=lapse), threading.Thread(target=flag)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == {}
    registration = Registration.objects.get(user=person)
    assert registration.completed_at is None and registration.reconfirmation_required
    assert Event.objects.filter(kind=EventKind.REGISTRATION_FLAGGED, subject=person).exists()
