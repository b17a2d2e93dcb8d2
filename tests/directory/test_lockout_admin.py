"""The lockout's records in the admin: found by the name typed (they keep only its sealed form),
and removed with an audit event."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client

from audit.models import Event, EventKind
from directory.lockout import lockout_key, username_key

pytestmark = pytest.mark.django_db

LIST = "/admin/axes/accessattempt/"


def fail(name: str, times: int = 1) -> None:
    for _ in range(times):
        Client().post("/ssprsetup/signin/", {"username": name, "password": "not-it"})


def test_records_are_found_by_the_name_typed_and_removing_them_is_recorded(admin_client, user):
    fail(user.username, 2)
    fail("someone-else")
    assert AccessAttempt.objects.count() == 2
    ours, theirs = (
        AccessAttempt.objects.get(username=lockout_key(username_key(name)))
        for name in (user.username, "someone-else")
    )
    page = admin_client.get(LIST, {"q": user.username}).content.decode()
    assert ours.username in page and theirs.username not in page
    assert "Clean up expired attempts" not in page  # it removed records unrecorded
    # A record's page shows no form data (none is kept, and no place for it is drawn).
    detail = admin_client.get(f"{LIST}{ours.pk}/change/").content.decode()
    assert detail.count(ours.username) >= 1 and "Form Data" not in detail
    response = admin_client.post(
        LIST,
        {"action": "delete_selected", "_selected_action": [ours.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert AccessAttempt.objects.count() == 1
    event = Event.objects.get(kind=EventKind.LOCKOUT_CLEARED)
    assert event.actor.is_superuser and event.details["records"] == 1
    assert event.details["names"] == [ours.username]  # sealed, never the name typed
