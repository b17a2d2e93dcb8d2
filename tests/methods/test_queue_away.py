"""A change of a method whose notice cannot be queued (the queue away) is not made: the
"temporarily unavailable" page that answers says nothing entered in the step was saved, and
nothing was, so sending the step again works (methods/lifecycle.py, `added` and `removed`)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from audit.models import Event, EventKind
from delivery import outbox
from methods.models import AuthenticationEmail, AuthenticationPhone
from tests.support.codes import last_phone_code
from tests.support.people import sign_in
from tests.support.registering import proved_a_moment_ago, shows_code_page

pytestmark = pytest.mark.django_db

UNAVAILABLE = "Nothing you entered in this step was saved"


def _away(*args, **kwargs):
    raise RedisConnectionError("the queue went away")


def test_a_phone_whose_notice_cannot_be_queued_is_not_verified(user, monkeypatch):
    client = Client(raise_request_exception=False)
    sign_in(client, user.username)
    sent = client.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    assert shows_code_page(sent)
    code = last_phone_code()
    monkeypatch.setattr(outbox, "send", _away)
    answer = client.post("/ssprsetup/phone/verify/", {"code": code})
    assert answer.status_code == 503 and UNAVAILABLE in answer.content.decode()
    assert not AuthenticationPhone.objects.filter(user=user, verified_at__isnull=False).exists()
    assert not Event.objects.filter(subject=user, kind=EventKind.METHOD_VERIFIED).exists()
    monkeypatch.undo()
    # Sent again, as the page asks, in the same session: the same code verifies the phone.
    assert client.post("/ssprsetup/phone/verify/", {"code": code})["Location"] == "/ssprsetup/"
    assert AuthenticationPhone.objects.get(user=user).verified_at
    assert Event.objects.filter(subject=user, kind=EventKind.METHOD_VERIFIED).count() == 1


def test_a_removal_whose_notice_cannot_be_queued_removes_nothing(user, monkeypatch):
    now = timezone.now()
    AuthenticationPhone.objects.create(user=user, number="+447400123456", verified_at=now)
    AuthenticationEmail.objects.create(user=user, email="alice.home@example.net", verified_at=now)
    client = Client(raise_request_exception=False)
    sign_in(client, user.username)
    proved_a_moment_ago(client)
    monkeypatch.setattr(outbox, "send", _away)
    answer = client.post("/ssprsetup/email/remove/")
    assert answer.status_code == 503 and UNAVAILABLE in answer.content.decode()
    assert AuthenticationEmail.objects.filter(user=user).exists()
    assert not Event.objects.filter(subject=user, kind=EventKind.METHOD_REMOVED).exists()
    monkeypatch.undo()
    assert client.post("/ssprsetup/email/remove/").status_code == 302
    assert not AuthenticationEmail.objects.filter(user=user).exists()
