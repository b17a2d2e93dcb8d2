"""Delivery records without a queue (development): the web process sends after the response,
and the code page says "sent" only once it has."""

from __future__ import annotations

import pytest
from django.test import Client

from delivery import outbox, tracking
from methods.backends import DeliveryError, DeliveryProblem
from tests.support.people import sign_in

pytestmark = pytest.mark.django_db


def test_in_process_the_page_says_sent_once_the_message_left(make_user, phone_outbox):
    client = Client()
    make_user("alice")
    assert sign_in(client, "alice").status_code == 302
    client.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    assert len(phone_outbox) == 1
    page = client.get("/ssprsetup/phone/verify/").content.decode()
    assert "We sent a 6-digit code to" in page
    assert "on its way" not in page


def test_a_job_that_raises_stays_queued_and_one_that_gives_up_is_failed(monkeypatch):
    with pytest.raises(RuntimeError):
        outbox.later("tests.delivery.test_tracking.boom", track=("t", 1))
    assert tracking.lookup(("t", 1)).status == tracking.QUEUED

    def refuse(message):
        raise DeliveryError(DeliveryProblem.INVALID_NUMBER, "no")

    monkeypatch.setattr("delivery.jobs.transmit", refuse)
    outbox.later(
        "delivery.jobs.deliver",
        track=("t", 2),
        message={"channel": "sms", "to": "+447400123456", "body": "x"},
    )
    assert tracking.lookup(("t", 2)).status == tracking.FAILED
    assert tracking.lookup(("t", 3)) is None


def boom() -> None:
    raise RuntimeError("the gateway library broke")
