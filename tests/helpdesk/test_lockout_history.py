"""The helpdesk sees a person's failed sign-ins and until when the name is locked here, in
both spellings of the name (docs/security.md §39); never the password typed."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import Event, EventKind
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def fail(username: str, password: str = "not-the-password") -> int:
    return (
        Client()
        .post("/ssprsetup/signin/", {"username": username, "password": password})
        .status_code
    )


def test_failed_sign_ins_and_the_lockout_show_on_the_persons_page(make_user, helpdesk_client):
    rita = make_user("rita")
    page = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    assert "0 of 5 before the name is locked" in page and "Locked here until" not in page
    for _ in range(2):
        fail("rita")
    page = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    assert "2 of 5 before the name is locked" in page
    for _ in range(3):
        fail("rita")
    page = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    assert "Locked here until" in page
    failed = Event.objects.filter(kind=EventKind.SIGN_IN_FAILED, subject=rita)
    assert failed.count() == 5
    assert "not-the-password" not in page
    assert PASSWORD not in page
