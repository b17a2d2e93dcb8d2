from __future__ import annotations

import pytest
from django.test import Client

from audit.models import Event, EventKind
from tests.support.resets import start_reset

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/passwordreset/", {"username": "rita", "altcha": "x"}),
        ("/passwordreset/action/", {"action": "reset"}),
        ("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"}),
        ("/passwordreset/phone/code/", {"code": "123456"}),
        ("/passwordreset/questions/", {}),
        ("/passwordreset/finish/", {}),
    ],
)
def test_reset_posts_need_the_csrf_token(registered, phone_outbox, path, data):
    client = Client(enforce_csrf_checks=True)
    if path != "/passwordreset/":
        helper = Client()
        start_reset(helper, "rita")
        client.cookies = helper.cookies
    assert client.post(path, data).status_code == 403
    assert phone_outbox == []
    assert Event.objects.filter(kind=EventKind.RESET_STARTED).count() == (
        0 if path == "/passwordreset/" else 1
    )


def test_reset_pages_are_not_cached_and_keep_the_referrer_on_site(client):
    response = client.get("/passwordreset/")
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
