"""A person's history at the helpdesk: their newest events on their page, every one of them on
their events page, a page at a time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Event, EventKind
from policy.models import Scope
from tests.support.people import past_sign_in_check

pytestmark = pytest.mark.django_db


def _events(person, count: int, *, spacing: int = 1) -> list[int]:
    """`count` events of the person's, each naming its number in its details, recorded in that
    order and `spacing` minutes apart (0: all at one moment; -1: each a minute before the one
    recorded before it, as events brought in from elsewhere may be); their ids."""
    start = timezone.now() - timedelta(days=1)
    ids = []
    for n in range(count):
        # The log is append-only: each event is recorded at its time, never moved after.
        with time_machine.travel(start + timedelta(minutes=n * spacing), tick=False):
            event = Event.objects.create(
                kind=EventKind.METHOD_VERIFIED, subject=person, details={"method": f"m{n:03d}"}
            )
        ids.append(event.pk)
    return ids


def _shown(page: str) -> list[str]:
    """The events a page lists, by the number in their details, in the order shown."""
    return re.findall(r"Method: m(\d{3})", page)


def _older(page: str) -> str | None:
    link = re.search(r'<a href="([^"]+)">Older events</a>', page)
    return link.group(1).replace("&amp;", "&") if link else None


def test_the_person_page_shows_the_newest_events_and_leads_to_all(helpdesk_client, make_user):
    ann = make_user("ann", password=None)
    _events(ann, 25)
    page = helpdesk_client.get(f"/helpdesk/users/{ann.pk}/").content.decode()
    assert _shown(page) == [f"{n:03d}" for n in range(24, 4, -1)]  # the 20 newest
    assert f'<a href="/helpdesk/users/{ann.pk}/events/">All events</a>' in page

    bob = make_user("bob", password=None)
    _events(bob, 20)
    page = helpdesk_client.get(f"/helpdesk/users/{bob.pk}/").content.decode()
    assert len(_shown(page)) == 20 and "All events" not in page


@pytest.mark.parametrize(
    "spacing", [1, 0, -1], ids=["a minute apart", "one moment", "out of recorded order"]
)
def test_the_events_page_goes_back_to_the_first_event_once_each(
    helpdesk_client, make_user, spacing
):
    ann = make_user("ann", password=None)
    _events(ann, 120, spacing=spacing)
    _events(make_user("bob", password=None), 5)  # someone else's: never on ann's pages
    address, seen, pages = f"/helpdesk/users/{ann.pk}/events/", [], 0
    while address:
        response = helpdesk_client.get(address)
        assert response.status_code == 200
        page = response.content.decode()
        assert len(_shown(page)) == (50 if pages < 2 else 20)
        assert ("Newest events" in page) == (pages > 0)
        seen += _shown(page)
        address, pages = _older(page), pages + 1
    assert pages == 3
    newest_first = [f"{n:03d}" for n in range(119, -1, -1)]
    assert seen == (newest_first[::-1] if spacing < 0 else newest_first)


def test_an_event_recorded_meanwhile_does_not_move_the_older_pages(helpdesk_client, make_user):
    ann = make_user("ann", password=None)
    _events(ann, 60)
    first = helpdesk_client.get(f"/helpdesk/users/{ann.pk}/events/").content.decode()
    Event.objects.create(kind=EventKind.SIGNED_IN, subject=ann)
    second = helpdesk_client.get(_older(first)).content.decode()
    assert _shown(second) == [f"{n:03d}" for n in range(9, -1, -1)]


@pytest.mark.parametrize(
    "before",
    ["abc", "-1", "1.5", "9" * 30, "١٢", "²", "0x10", ""],
    ids=["letters", "negative", "decimal", "too long", "Arabic", "superscript", "hex", "empty"],
)
def test_a_page_address_that_names_no_event_shows_the_newest(helpdesk_client, make_user, before):
    ann = make_user("ann", password=None)
    _events(ann, 3)
    response = helpdesk_client.get(f"/helpdesk/users/{ann.pk}/events/", {"before": before})
    assert response.status_code == 200
    page = response.content.decode()
    assert _shown(page) == ["002", "001", "000"] and "Newest events" not in page


def test_another_persons_event_shows_none_of_theirs(helpdesk_client, make_user):
    ann, bob = make_user("ann", password=None), make_user("bob", password=None)
    _events(ann, 3)
    bobs = _events(bob, 3)
    page = helpdesk_client.get(
        f"/helpdesk/users/{ann.pk}/events/", {"before": bobs[-1]}
    ).content.decode()
    assert _shown(page) == ["002", "001", "000"]  # ann's, from the newest
    assert "Newest events" not in page  # it is the newest page


def test_the_events_page_costs_the_same_however_many_events(helpdesk_client, make_user):
    ann = make_user("ann", password=None)

    def queries(address: str) -> int:
        with CaptureQueriesContext(connection) as done:
            assert helpdesk_client.get(address).status_code == 200
        return len(done)

    _events(ann, 60)
    page = helpdesk_client.get(f"/helpdesk/users/{ann.pk}/events/").content.decode()
    few = (queries(f"/helpdesk/users/{ann.pk}/events/"), queries(_older(page)))
    _events(ann, 400)
    page = helpdesk_client.get(f"/helpdesk/users/{ann.pk}/events/").content.decode()
    assert (queries(f"/helpdesk/users/{ann.pk}/events/"), queries(_older(page))) == few


def test_the_events_page_is_the_helpdesks_and_for_people_in_scope(
    client, helpdesk_client, make_user, policy
):
    ann = make_user("ann", password=None)
    _events(ann, 3)
    address = f"/helpdesk/users/{ann.pk}/events/"
    assert client.get(address).status_code == 302  # sign in first
    someone = past_sign_in_check(Client(), make_user("someone", password=None))
    assert someone.get(address).status_code == 403
    assert helpdesk_client.get("/helpdesk/users/999999/events/").status_code == 404
    policy.scope, policy.scope_group = Scope.GROUP, Group.objects.create(name="pilot")
    policy.save()
    assert helpdesk_client.get(address).status_code == 404  # ann is not in the pilot group
    assert helpdesk_client.post(address).status_code == 405
