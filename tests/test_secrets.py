"""Codes, answers, passwords and full contact details stay out of logs, the audit log, the
sessions (their table and the cache) and the cache itself."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import cache

from audit.log import record
from audit.models import Event, EventKind
from sspr_site.sessions import SessionStore
from tests.support.codes import last_email_code, last_phone_code
from tests.support.people import PASSWORD
from tests.support.registering import questions_data, register_email, register_phone

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


def test_a_whole_reset_leaves_no_secret_in_logs_audit_sessions_or_cache(
    make_user, policy, settings, caplog
):
    """At the portal: a number typed wrong then right, its code, an address and its code, the
    answers, the new password. None of them, nor the registered number or address, can be read
    back from the logs, the audit log, the sessions or the cache."""
    from django.test import Client
    from django.utils import timezone

    from methods.models import AuthenticationEmail, AuthenticationPhone, SecurityAnswer
    from methods.questions.answers import hash_answer, normalise
    from tests.support.registering import question_ids
    from tests.support.resets import shows_done_page, start_reset

    caplog.set_level(logging.DEBUG)
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000
    settings.SSPR_CODE_RESEND_SECONDS = 0
    policy.reset_methods_required = 2
    policy.save()
    rita = make_user("rita")
    now = timezone.now()
    AuthenticationPhone.objects.create(user=rita, number="+447400123456", verified_at=now)
    AuthenticationEmail.objects.create(user=rita, email="rita.home@example.net", verified_at=now)
    for pk in question_ids(3):
        SecurityAnswer.objects.create(
            user=rita, question_id=pk, answer_hash=hash_answer(normalise("Kestrel Moon"))
        )
    new = "violet-harbour-quartz-7"

    def finish(client):
        done = client.post("/passwordreset/finish/", {"new_password1": new, "new_password2": new})
        assert shows_done_page(done)

    client = Client()  # the phone, typed wrong then right, and the answers
    start_reset(client, "rita")
    client.post("/passwordreset/phone/", {"number": "+447400999888", "channel": "sms"})
    client.post("/passwordreset/phone/code/", {"code": "000000"})
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    phone_code = last_phone_code()
    client.post("/passwordreset/phone/code/", {"code": phone_code})
    page = client.get("/passwordreset/questions/").content.decode()
    asked = re.findall(r'name="answer_(\d+)"', page)
    client.post("/passwordreset/questions/", {f"answer_{pk}": "Kestrel Moon" for pk in asked})
    finish(client)
    client = Client()  # the address and the phone
    start_reset(client, "rita")
    client.post("/passwordreset/email/", {"email": "rita.home@example.net"})
    email_code = last_email_code()
    client.post("/passwordreset/email/code/", {"code": email_code})
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    client.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    new = "amber-gate-lantern-42"
    finish(client)
    rita.refresh_from_db()
    assert rita.check_password(new)

    audit = str(list(Event.objects.values_list("kind", "details", "ip")))
    assert Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()
    haystacks = {"logs": caplog.text, "audit": audit, **sessions_and_cache()}
    for where, text in haystacks.items():
        for secret in (
            phone_code,
            email_code,
            "7400123456",
            "7400999888",
            "7400 999888",
            "rita.home",
            "Kestrel",
            "kestrel",
            "violet-harbour-quartz-7",
            "amber-gate-lantern-42",
            PASSWORD,
        ):
            assert secret not in text, f"{secret!r} found in {where}"


def sessions_and_cache() -> dict[str, str]:
    """Every session as stored (the table's rows, raw and decoded; the cache's entries) and
    every value in the cache, raw: what someone reading a backup or Redis would see."""
    store = SessionStore()
    rows = list(Session.objects.all())
    assert rows, "no session was stored"
    table = [row.session_data for row in rows] + [repr(store.decode(r.session_data)) for r in rows]
    cached = [repr(cache.get(store.cache_key_prefix + row.session_key)) for row in rows]
    backend = cache._cache
    if hasattr(backend, "get_client"):  # Redis: every key and every value, of every kind
        client = backend.get_client(None, write=False)

        def value(key: bytes) -> bytes:
            kind = client.type(key)
            if kind == b"zset":  # events counted over the last hour (sspr_site/counting.py)
                return b" ".join(client.zrange(key, 0, -1))
            if kind == b"hash":
                return b" ".join(k + b":" + v for k, v in client.hgetall(key).items())
            if kind in (b"list", b"set"):
                read = client.lrange(key, 0, -1) if kind == b"list" else client.smembers(key)
                return b" ".join(read)
            return client.get(key) or b""

        raw = [key + b"=" + value(key) for key in client.scan_iter(count=1000)]
    else:  # the local-memory cache keeps pickled values
        raw = [key.encode() + b"=" + value for key, value in backend.items()]
    return {
        "session table": "\n".join(table),
        "cached sessions": "\n".join(cached),
        "cache": b"\n".join(raw).decode("latin-1"),
    }


def test_sessions_and_the_cache_hold_no_number_address_or_code(signed_in):
    """Halfway through setting up a phone and an email, the numbers and the address typed (and
    their codes) are nowhere in the session, its table or the cache (docs/security.md §21)."""
    signed_in.post("/ssprsetup/phone/", {"region": "", "number": "+447400123456", "channel": "sms"})
    phone_code = last_phone_code()
    # Corrected: the code goes to the corrected number, which the code page shows back.
    signed_in.post("/ssprsetup/phone/", {"region": "", "number": "+447400654321", "channel": "sms"})
    corrected_code = last_phone_code()
    page = signed_in.get("/ssprsetup/phone/verify/").content.decode()
    assert "+44 7400 654321" in page
    signed_in.post("/ssprsetup/email/", {"email": "alice.home@example.net"})
    email_code = last_email_code()
    assert "alice.home@example.net" in signed_in.get("/ssprsetup/email/verify/").content.decode()

    secrets = (
        "+447400123456",
        "447400123456",
        "7400123456",
        "7400 123456",
        "+447400654321",
        "447400654321",
        "7400654321",
        "7400 654321",
        "alice.home",
        phone_code,
        corrected_code,
        email_code,
        PASSWORD,
    )
    for where, text in sessions_and_cache().items():
        for secret in secrets:
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
