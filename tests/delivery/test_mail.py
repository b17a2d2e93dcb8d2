"""Email through one kept SMTP connection (delivery/mail.py), against a real SMTP server on
loopback: several messages on one connection, a server that closed it meanwhile, an idle one
let go, new settings, a refused or deferred address, and a message the server kept before the
connection broke (never sent twice)."""

from __future__ import annotations

import traceback

import pytest

from delivery import mail
from delivery.jobs import transmit
from delivery.outbox import Message
from methods.backends import DeliveryError, DeliveryProblem
from tests.support.smtp import SmtpServer


def _use(settings, server: SmtpServer) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


@pytest.fixture
def smtp(settings):
    server = SmtpServer().start()
    _use(settings, server)
    yield server
    server.stop()
    mail._close()


def notice(to: str) -> Message:
    return Message(channel="email", to=to, body="Your phone was changed.", subject="A change")


def test_messages_in_a_row_share_one_connection(smtp):
    for n in range(3):
        transmit(notice(f"p{n}@example.net"))
    assert [m["To"] for m in smtp.inbox.messages] == [f"p{n}@example.net" for n in range(3)]
    assert len(set(smtp.inbox.peers)) == 1


def test_a_connection_the_server_closed_meanwhile_is_opened_again(settings):
    """The server restarted (or dropped the idle connection) between two messages: the next
    message still goes, once, on a new connection."""
    first = SmtpServer().start()
    _use(settings, first)
    try:
        transmit(notice("first@example.net"))
    finally:
        first.stop()
    again = SmtpServer(first.port).start()
    try:
        transmit(notice("second@example.net"))
        assert [m["To"] for m in again.inbox.messages] == ["second@example.net"]
    finally:
        again.stop()
        mail._close()


def test_an_idle_connection_is_closed_before_the_next_message(smtp, monkeypatch):
    monkeypatch.setattr(mail, "IDLE_SECONDS", -1)
    transmit(notice("first@example.net"))
    transmit(notice("second@example.net"))
    assert len(set(smtp.inbox.peers)) == 2


def test_a_refused_address_leaves_the_connection_for_the_next_message(smtp):
    smtp.inbox.refuse.add("gone@example.net")
    transmit(notice("first@example.net"))
    with pytest.raises(DeliveryError) as refused:
        transmit(notice("gone@example.net"))
    assert refused.value.problem is DeliveryProblem.INVALID_ADDRESS
    transmit(notice("third@example.net"))
    assert [m["To"] for m in smtp.inbox.messages] == ["first@example.net", "third@example.net"]
    assert len(set(smtp.inbox.peers)) == 1


def test_a_server_that_is_down_is_a_failure_that_can_be_retried(settings):
    from tests.support.smtp import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    with pytest.raises(DeliveryError) as down:
        transmit(notice("first@example.net"))
    assert down.value.problem is DeliveryProblem.UNAVAILABLE


def test_new_settings_open_a_new_connection(smtp, settings):
    transmit(notice("first@example.net"))
    settings.EMAIL_TIMEOUT = 6  # the same server, other settings
    transmit(notice("second@example.net"))
    assert len(set(smtp.inbox.peers)) == 2


def test_a_deferred_address_is_tried_again_later_not_taken_for_wrong(smtp):
    """450 (greylisting, a full mailbox) is "not now": the message is tried again later, and a
    verified address is not made to verify again as one the server refused."""
    smtp.inbox.defer.add("later@example.net")
    with pytest.raises(DeliveryError) as deferred:
        transmit(notice("later@example.net"))
    assert deferred.value.problem is DeliveryProblem.UNAVAILABLE
    # What the worker logs of a job it retries names no address: the server's refusal, which
    # does, is not carried along (docs/security.md §21).
    error = deferred.value
    assert error.__cause__ is None and error.__suppress_context__
    assert "later@example.net" not in "".join(traceback.format_exception_only(error))
    transmit(notice("next@example.net"))
    assert [m["To"] for m in smtp.inbox.messages] == ["next@example.net"]


def test_a_message_kept_before_the_connection_broke_is_not_sent_again(smtp):
    """The server keeps the message, then the connection breaks before its answer: the message
    is not sent again at once on a new connection (it may have arrived); the failure goes to
    the queue's later tries, as any failure does."""
    smtp.inbox.hang_up_after.add("second@example.net")
    transmit(notice("first@example.net"))
    with pytest.raises(DeliveryError) as broken:
        transmit(notice("second@example.net"))
    assert broken.value.problem is DeliveryProblem.UNAVAILABLE
    assert [m["To"] for m in smtp.inbox.messages] == ["first@example.net", "second@example.net"]
    transmit(notice("third@example.net"))
    assert smtp.inbox.messages[-1]["To"] == "third@example.net"
