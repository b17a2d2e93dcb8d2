"""A single-use pass is spent at sign-in by one conditional update: two sign-ins with it at the
same moment, and exactly one gets in (on SQLite here; on PostgreSQL in the services pass)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from accesspass.flows import spend
from accesspass.models import AccessPass
from audit.models import Event, EventKind

from .conftest import issue, the_pass, use_pass


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_sign_ins_with_one_pass_at_once_let_one_in(desk, user, attempt):
    value = the_pass(issue(desk, user))
    barrier = threading.Barrier(2)
    outcomes: list[int] = []

    def submit() -> None:
        try:
            client = Client()
            barrier.wait()
            outcomes.append(use_pass(client, "alice", value).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == [200, 302], outcomes
    assert AccessPass.objects.get(user=user).uses == 1
    assert Event.objects.filter(subject=user, kind=EventKind.ACCESS_PASS_USED).count() == 1


@pytest.mark.django_db
def test_a_pass_read_before_another_spent_it_cannot_be_spent_again(desk, user):
    the_pass(issue(desk, user))
    first = AccessPass.objects.get(user=user)
    second = AccessPass.objects.get(user=user)  # read by a second request at the same time
    assert spend(first) is True
    assert spend(second) is False
