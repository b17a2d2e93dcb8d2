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
from tests.support.access_passes import issue, the_pass, use_pass
from tests.support.at_once import at_once


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


@pytest.mark.django_db(transaction=True)
def test_one_issue_form_sent_three_times_at_once_opens_one_pass(desk, user):
    """Two clicks, or a proxy's retry, send the same issue form at the same moment: one pass is
    opened and shown, once; the other answers say nothing new was issued, so the agent never
    reads out a pass that another request has already ended."""
    import re

    from tests.support.access_passes import PASS_PATTERN

    page = desk.get(f"/helpdesk/pass/users/{user.pk}/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {"verification": "in_person", "note": "Saw her staff card", "form_token": token}

    def submit() -> str:
        client = Client()
        client.cookies = desk.cookies
        return client.post(f"/helpdesk/pass/users/{user.pk}/", data, follow=True).content.decode()

    pages = at_once(submit, count=3)
    shown = [found.group(1) for text in pages if (found := PASS_PATTERN.search(text))]
    assert len(pages) == 3 and len(shown) == 1, pages
    assert sum("This form was sent already" in text for text in pages) == 2
    assert AccessPass.objects.filter(user=user).count() == 1
    assert Event.objects.filter(subject=user, kind=EventKind.ACCESS_PASS_ISSUED).count() == 1
    assert use_pass(Client(), "alice", shown[0]).status_code == 302
