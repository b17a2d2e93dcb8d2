"""The helpdesk sees a person's failed sign-ins and until when the name is locked here, in
both spellings of the name (docs/security.md §39); never the password typed."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import Event, EventKind
from tests.support.people import PASSWORD

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


def test_failures_from_several_browsers_add_up_as_the_lockout_counts_them(
    make_user, helpdesk_client
):
    """The lockout adds up every browser's and address's failures for a name; so does the
    helpdesk's page, which says the name is locked exactly when sign-in refuses it, also after
    a refused try from yet another browser."""
    rita = make_user("rita")

    def fail_from(agent: str, password: str = "not-the-password") -> int:
        client = Client(HTTP_USER_AGENT=agent)
        return client.post(
            "/ssprsetup/signin/", {"username": "rita", "password": password}
        ).status_code

    assert [fail_from("Browser-A/1.0") for _ in range(2)] == [200, 200]
    assert [fail_from("Browser-B/1.0") for _ in range(3)] == [200, 200, 429]
    page = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    assert "5: the name is locked (the limit is 5)" in page and "Locked here until" in page
    # Rita registered nothing: the page does not send her to a reset she cannot make.
    assert "The person cannot unlock it themselves now" in page
    assert "unlocks it at the password reset page" not in page
    # The right password from a third browser is refused as well; the page still says locked.
    assert fail_from("Browser-C/1.0", PASSWORD) == 429
    page = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    assert "Locked here until" in page and "before the name is locked" not in page
