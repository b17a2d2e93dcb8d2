"""Email codes through a real SMTP server on loopback, and with the server down."""

from __future__ import annotations

import re

import pytest

from methods.models import AuthenticationEmail
from tests.support.registering import shows_code_page
from tests.support.smtp import SmtpServer, free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.stop()


def code_in(message) -> str:
    return re.search(r"\b(\d{6})\b", message.get_content()).group(1)


def test_email_code_arrives_over_smtp_and_verifies(signed_in, user, smtp):
    response = signed_in.post("/ssprsetup/email/", {"email": "alice.home@example.net"})
    assert shows_code_page(response, "email")
    (message,) = smtp.inbox.messages
    assert message["To"] == "alice.home@example.net"
    assert message["X-Envelope-To"] == "alice.home@example.net"
    code = code_in(message)
    assert code not in message["Subject"]
    assert signed_in.post("/ssprsetup/email/verify/", {"code": code})["Location"] == "/ssprsetup/"
    assert AuthenticationEmail.objects.get(user=user).verified_at


def test_server_down_gives_a_clear_message_and_retry_works(signed_in, user, settings):
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    response = signed_in.post("/ssprsetup/email/", {"email": "alice.home@example.net"})
    assert shows_code_page(response, "email")
    # The send fails once the page is out; the code page says so when next opened.
    page = signed_in.get("/ssprsetup/email/verify/").content.decode()
    assert "could not be sent just now" in page
    assert not AuthenticationEmail.objects.filter(user=user).exists()

    server = SmtpServer(port).start()
    try:
        response = signed_in.post("/ssprsetup/email/", {"email": "alice.home@example.net"})
        assert shows_code_page(response, "email")
        code = code_in(server.inbox.messages[-1])
        assert signed_in.post("/ssprsetup/email/verify/", {"code": code}).status_code == 302
    finally:
        server.stop()
    assert AuthenticationEmail.objects.get(user=user).verified_at


def test_change_notices_go_out_over_smtp_one_recipient_each(signed_in, user, smtp):
    from tests.support.registering import register_phone

    register_phone(signed_in)
    signed_in.post("/ssprsetup/phone/", {"number": "+447400654321", "channel": "sms"})
    from tests.support.codes import last_phone_code

    smtp.inbox.messages.clear()
    signed_in.post("/ssprsetup/phone/verify/", {"code": last_phone_code()})
    (notice,) = smtp.inbox.messages
    assert notice["To"] == user.email
    assert "7400654321" not in notice.get_content()


def test_a_verified_address_the_server_refuses_must_be_verified_again(signed_in, user, smtp):
    from django.utils import timezone

    from audit.models import Event, EventKind
    from tests.support.registering import proved_a_moment_ago

    AuthenticationEmail.objects.create(
        user=user, email="gone@example.net", verified_at=timezone.now()
    )
    smtp.inbox.refuse.add("gone@example.net")
    # Confirming a verified address again is a change like any other: she proved it is her.
    proved_a_moment_ago(signed_in)
    assert signed_in.post("/ssprsetup/email/confirm/")["Location"] == "/ssprsetup/email/send/"
    signed_in.post("/ssprsetup/email/send/", {"channel": "email"})
    response = signed_in.get("/ssprsetup/email/verify/")
    assert "mail server refused this address" in response.content.decode()
    assert AuthenticationEmail.objects.get(user=user).verified_at is None
    assert Event.objects.filter(kind=EventKind.METHOD_UNVERIFIED).count() == 1
