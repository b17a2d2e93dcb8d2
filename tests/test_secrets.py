"""Codes, answers, passwords and full contact details stay out of logs and the audit log."""

from __future__ import annotations

import logging

import pytest
from django.core import mail

from audit.log import record
from audit.models import Event, EventKind
from tests.conftest import PASSWORD, questions_data, register_email, register_phone

pytestmark = pytest.mark.django_db


def test_a_whole_registration_leaves_no_secret_in_logs_or_audit(signed_in, caplog):
    caplog.set_level(logging.DEBUG)
    phone_code = register_phone(signed_in, "+447400123456")
    email_code = register_email(signed_in, "alice.home@example.net")
    signed_in.post(
        "/ssprsetup/questions/", questions_data(3, ["Kestrel Moon", "Amber Gate", "Wx9 Zz"])
    )
    signed_in.post("/ssprsetup/finish/")
    signed_in.post("/ssprsetup/signin/", {"username": "alice", "password": "wrong-password-x"})

    audit = str(list(Event.objects.values_list("kind", "details", "ip")))
    assert len(Event.objects.all()) >= 6
    haystacks = {"logs": caplog.text, "audit": audit}
    for where, text in haystacks.items():
        for secret in (
            phone_code,
            email_code,
            "7400123456",
            "alice.home",
            "Kestrel",
            "kestrel",
            PASSWORD,
            "wrong-password-x",
        ):
            assert secret not in text, f"{secret!r} found in {where}"


def test_audit_refuses_secret_keys():
    with pytest.raises(ValueError):
        record(EventKind.CODE_SENT, code="123456")
    with pytest.raises(ValueError):
        record(EventKind.METHOD_CHANGED, number="+447400123456")


def test_pages_with_personal_data_are_never_cached(signed_in):
    for path in ("/ssprsetup/", "/ssprsetup/phone/", "/ssprsetup/questions/", "/ssprsetup/email/"):
        response = signed_in.get(path)
        assert "no-store" in response["Cache-Control"], path


def test_pages_send_protective_headers(client):
    response = client.get("/ssprsetup/signin/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_code_emails_use_the_configured_site_address_not_the_host_header(signed_in, settings):
    settings.SSPR_SITE_URL = "https://reset.example.org"
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    signed_in.post(
        "/ssprsetup/email/", {"email": "alice.home@example.net"}, HTTP_HOST="evil.example"
    )
    body = mail.outbox[-1].body
    assert "https://reset.example.org" in body and "evil.example" not in body
