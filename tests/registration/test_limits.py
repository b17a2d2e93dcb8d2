"""Sending limits and gateway failures, seen from the pages (docs/security.md §9, 11)."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import Event, EventKind
from delivery.models import FailedDelivery
from methods.models import AuthenticationPhone, VerificationCode
from tests.support.fake_twilio import Failure, FakeTwilio
from tests.support.people import sign_in
from tests.support.registering import shows_code_page

pytestmark = pytest.mark.django_db


def _send(client, number="+447400123456"):
    return client.post("/ssprsetup/phone/", {"number": number, "channel": "sms"})


@pytest.mark.parametrize(
    ("scope", "limits"),
    [
        ("user", {"user": 2}),
        ("destination", {"destination": 2}),
        ("ip", {"ip": 2}),
        ("prefix", {"prefix": 2}),
        ("overall", {"overall": 2}),
    ],
)
def test_over_a_sending_limit_nothing_is_sent_and_the_answer_is_429(
    settings, make_user, phone_outbox, scope, limits
):
    settings.SSPR_CODE_RESEND_SECONDS = 0
    settings.SSPR_SEND_LIMITS = limits
    users = [make_user(f"user{index}") for index in range(3)]
    clients = []
    for user in users:
        client = Client()
        sign_in(client, user.username)
        clients.append(client)
    # For the per-user limit one person sends three times; otherwise three people send once.
    senders = [clients[0]] * 3 if scope == "user" else clients
    numbers = ["+447400123456", "+447400123457", "+447400123458"]
    if scope in ("destination",):
        numbers = ["+447400123456"] * 3
    responses = [_send(client, number) for client, number in zip(senders, numbers, strict=True)]
    assert [shows_code_page(r) for r in responses] == [True, True, False]
    assert responses[2].status_code == 429
    assert "Too many codes were asked for" in responses[2].content.decode()
    assert len(phone_outbox) == 2
    refused = Event.objects.get(kind=EventKind.CODE_SEND_REFUSED)
    assert refused.details["limit"] == scope
    assert "+44" not in str(refused.details)


def test_limit_counters_are_kept_in_the_shared_cache(settings, signed_in):
    from django.core.cache import cache

    settings.SSPR_SEND_LIMITS = {"user": 1}
    settings.SSPR_CODE_RESEND_SECONDS = 0
    _send(signed_in)
    cache.clear()  # another worker's view of an empty cache would let it through again
    assert shows_code_page(signed_in.post("/ssprsetup/phone/send/", {"channel": "sms"}))


@pytest.fixture
def twilio(settings):
    sid = "AC" + "a" * 32
    fake = FakeTwilio(sid, "token").start()
    settings.SSPR_PHONE_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = sid
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE_URL = fake.base_url
    settings.TWILIO_TIMEOUT = 1
    yield fake
    fake.stop()


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (Failure(400, 21211, "Invalid 'To'"), "cannot receive our messages"),
        (Failure(400, 21408, "Permission"), "cannot send messages to this country"),
        (Failure(429, 20429, "Too Many Requests"), "message service is busy"),
        (Failure(500, None, "boom"), "could not be sent just now"),
    ],
)
def test_gateway_errors_give_a_plain_message_and_leave_nothing_half_saved(
    signed_in, user, twilio, failure, message
):
    twilio.failures.append(failure)
    # The send is queued and the person goes on to the code page ...
    assert shows_code_page(_send(signed_in))
    # ... which says plainly that this code will not arrive, and why.
    response = signed_in.get("/ssprsetup/phone/verify/")
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and 'id="undelivered"' in page
    device = VerificationCode.objects.get(user=user)
    assert not device.token and device.delivery_problem
    assert not AuthenticationPhone.objects.filter(user=user).exists()
    failed = FailedDelivery.objects.get(user=user)
    assert failed.channel == "sms" and failed.destination == "+44 ••••••••56"
    assert Event.objects.get(kind=EventKind.DELIVERY_FAILED).details["purpose"] == "code"

    tried = len(twilio.received)
    if failure.code in (21211, 21408):
        # Refused for good: the same number sent again (a reload, a second press) is not sent
        # again; the code page says why. Another number goes out at once.
        again = _send(signed_in)
        assert again["Location"] == "/ssprsetup/phone/verify/" and len(twilio.received) == tried
        assert message in signed_in.get(again["Location"]).content.decode()
        number = "+447400123457"
    else:
        number = "+447400123456"  # a passing trouble: the same number is tried again
    # Nothing was spent: the next send goes through at once, and the code verifies.
    assert shows_code_page(_send(signed_in, number))
    assert 'id="undelivered"' not in signed_in.get("/ssprsetup/phone/verify/").content.decode()
    body = twilio.received[-1]["Body"]
    code = body[:6]
    assert signed_in.post("/ssprsetup/phone/verify/", {"code": code})["Location"] == "/ssprsetup/"


def test_slow_gateway_times_out_with_a_message(signed_in, twilio, settings):
    settings.TWILIO_TIMEOUT = 0.3
    twilio.delay = 1
    assert shows_code_page(_send(signed_in))
    assert (
        "could not be sent just now" in signed_in.get("/ssprsetup/phone/verify/").content.decode()
    )


def test_voice_call_through_twilio_speaks_the_code_twice(signed_in, twilio):
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "voice"})
    (call,) = twilio.received
    assert call["kind"] == "Calls" and call["To"] == "+447400123456"
    import re

    # Digit by digit, each followed by a pause, twice.
    digits = re.findall(r"<Say[^>]*>(\d)</Say><Pause length=\"1\" />", call["Twiml"])
    assert len(digits) == 12 and digits[:6] == digits[6:]


def test_a_verified_number_that_bounces_must_be_verified_again(signed_in, user, twilio):
    from django.utils import timezone

    from tests.support.registering import proved_a_moment_ago

    AuthenticationPhone.objects.create(
        user=user, number="+447400123456", verified_at=timezone.now()
    )
    # Confirming a verified number again is a change like any other: she proved it is her
    # a moment ago.
    proved_a_moment_ago(signed_in)
    twilio.failures.append(Failure(400, 21211, "Invalid 'To' Phone Number"))
    assert signed_in.post("/ssprsetup/phone/confirm/")["Location"] == "/ssprsetup/phone/send/"
    signed_in.post("/ssprsetup/phone/send/", {"channel": "sms"})
    response = signed_in.get("/ssprsetup/phone/verify/")
    assert "cannot receive our messages" in response.content.decode()
    assert AuthenticationPhone.objects.get(user=user).verified_at is None
    assert "Waiting for your confirmation" in signed_in.get("/ssprsetup/").content.decode()
    event = Event.objects.get(kind=EventKind.METHOD_UNVERIFIED)
    assert event.details == {"method": "authentication_phone", "reason": "invalid_number"}


def test_a_bounce_that_leaves_the_person_short_ends_the_registration(
    signed_in, user, twilio, policy
):
    from django.utils import timezone

    from registration.models import Registration
    from tests.support.registering import proved_a_moment_ago

    policy.methods_required = 1
    policy.save()
    now = timezone.now()
    AuthenticationPhone.objects.create(user=user, number="+447400123456", verified_at=now)
    Registration.objects.create(user=user, completed_at=now, last_confirmed_at=now)
    proved_a_moment_ago(signed_in)
    twilio.failures.append(Failure(400, 21211, "Invalid 'To' Phone Number"))
    signed_in.post("/ssprsetup/phone/confirm/")
    signed_in.post("/ssprsetup/phone/send/", {"channel": "sms"})
    assert AuthenticationPhone.objects.get(user=user).verified_at is None
    assert Registration.objects.get(user=user).completed_at is None
    assert Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED, subject=user).exists()


def test_refused_attempts_of_one_person_do_not_use_up_the_shared_budget(
    settings, make_user, phone_outbox
):
    """One account hammering its own limit must not leave everyone else with 429."""
    settings.SSPR_CODE_RESEND_SECONDS = 0
    settings.SSPR_SEND_LIMITS = {"user": 2, "prefix": 5, "overall": 5}
    noisy, other = Client(), Client()
    sign_in(noisy, make_user("noisy").username)
    sign_in(other, make_user("other").username)
    # The number once, then "Text me a new code" again and again.
    resend = {"channel": "sms"}
    statuses = [_send(noisy).status_code]
    statuses += [noisy.post("/ssprsetup/phone/send/", resend).status_code for _ in range(19)]
    assert statuses == [200, 200] + [429] * 18
    assert shows_code_page(_send(other, "+447400999888"))
    assert len(phone_outbox) == 3


@pytest.mark.parametrize("ritas", [True, False])
def test_the_setup_pages_limit_does_not_tell_whether_the_portal_sent_to_a_number(
    settings, make_user, phone_outbox, ritas
):
    """Mallory, signed in, sends setup codes to a number until one more would reach its hourly
    limit; a reset for Rita is asked with that number; then one more setup code. The portal
    sends only when the number is Rita's, so had its send counted towards the number's limit
    seen at setup, Mallory's last code would be refused exactly when the number is Rita's."""
    from django.utils import timezone

    from tests.support.people import past_sign_in_check
    from tests.support.resets import start_reset

    settings.SSPR_CAPTCHA_DIFFICULTY = 50
    settings.SSPR_CODE_RESEND_SECONDS = 0
    settings.SSPR_SEND_LIMITS = {"destination": 3, "user": 50, "ip": 50}
    rita = make_user("rita")
    candidate = "+447400123456" if ritas else "+447400999999"
    AuthenticationPhone.objects.create(
        user=rita, number="+447400123456", verified_at=timezone.now()
    )
    mallory = past_sign_in_check(Client(), make_user("mallory"))
    for own in ("+447400200001", "+447400200002"):  # between hers, or the page goes on
        assert shows_code_page(_send(mallory, candidate))
        assert shows_code_page(_send(mallory, own))
    stranger = Client()
    start_reset(stranger, "rita")
    sent_before = len(phone_outbox)
    assert (
        stranger.post("/passwordreset/phone/", {"number": candidate, "channel": "sms"}).status_code
        == 200
    )
    assert len(phone_outbox) == sent_before + (1 if ritas else 0)  # the portal sent, or not
    assert shows_code_page(_send(mallory, candidate))
