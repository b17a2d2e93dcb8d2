"""Phone backends, the twilio one through the real twilio client against a local server."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from methods.backends import DeliveryError, DeliveryProblem, PhoneMessage, get_phone_backend
from methods.backends.console import PhoneBackend as ConsoleBackend
from methods.backends.filebased import PhoneBackend as FileBackend
from tests.support.fake_twilio import Failure, FakeTwilio

SID = "AC" + "0" * 31 + "1"
TOKEN = "test-auth-token"
SMS = PhoneMessage(to="+447400123456", kind="sms", text="123456 is your code", language="en")
VOICE = PhoneMessage(to="+447400123456", kind="voice", text="Your code is: 1. 2. 3.", language="de")


def test_file_backend_writes_one_json_file_per_message(tmp_path):
    backend = FileBackend(str(tmp_path))
    backend.send(SMS)
    backend.send(VOICE)
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 2
    first = json.loads(files[0].read_text())
    assert first == {"to": "+447400123456", "kind": "sms", "language": "en", "text": SMS.text}
    assert json.loads(files[1].read_text())["kind"] == "voice"


def test_file_backend_needs_a_folder(settings):
    settings.SSPR_PHONE_FILE_PATH = ""
    with pytest.raises(ImproperlyConfigured):
        FileBackend()


def test_console_backend_prints_the_message():
    stream = io.StringIO()
    ConsoleBackend(stream).send(SMS)
    assert "sms to +447400123456" in stream.getvalue()
    assert SMS.text in stream.getvalue()


def test_backend_is_chosen_by_setting(settings, tmp_path):
    settings.SSPR_PHONE_BACKEND = "file"
    settings.SSPR_PHONE_FILE_PATH = str(tmp_path)
    assert isinstance(get_phone_backend(), FileBackend)


def test_a_bad_backend_setting_is_reported_by_the_system_check(settings):
    settings.SSPR_PHONE_BACKEND = "nowhere.Backend"
    with pytest.raises(Exception, match="methods.E001"):
        call_command("check")


def _sending_to(settings, fake: FakeTwilio):
    """The site's twilio backend, pointed at `fake`, until the test ends."""
    fake.start()
    settings.SSPR_PHONE_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE_URL = fake.base_url
    settings.TWILIO_TIMEOUT = 2
    yield fake
    fake.stop()


@pytest.fixture
def twilio(settings):
    yield from _sending_to(settings, FakeTwilio(SID, TOKEN))


@pytest.fixture
def keeping_twilio(settings):
    """As Twilio's API: connections kept open between requests."""
    yield from _sending_to(settings, FakeTwilio(SID, TOKEN, keep_alive=True))


def test_twilio_sends_a_text_message(twilio):
    get_phone_backend().send(SMS)
    assert twilio.received == [
        {"kind": "Messages", "To": "+447400123456", "From": "+15005550006", "Body": SMS.text}
    ]


def test_twilio_call_speaks_the_text_in_the_users_language(twilio):
    get_phone_backend().send(VOICE)
    (call,) = twilio.received
    assert call["kind"] == "Calls"
    say = '<Say language="de-DE" voice="Polly.Marlene">'
    assert call["Twiml"].count(say) == 4
    # Each digit on its own, then a pause to write it down.
    assert f'{say}Your code is:</Say>{say}1</Say><Pause length="1" />{say}2</Say>' in call["Twiml"]


def test_twilio_wrong_credentials_are_an_unavailable_gateway(twilio, settings):
    settings.TWILIO_AUTH_TOKEN = "wrong"
    with pytest.raises(DeliveryError) as caught:
        get_phone_backend().send(SMS)
    assert caught.value.problem is DeliveryProblem.UNAVAILABLE
    assert twilio.received == []


@pytest.mark.parametrize(
    ("failure", "problem"),
    [
        (Failure(400, 21211, "Invalid 'To' Phone Number"), DeliveryProblem.INVALID_NUMBER),
        (
            Failure(400, 21408, "Permission to send an SMS has not been enabled"),
            DeliveryProblem.REGION_NOT_ENABLED,
        ),
        (Failure(429, 20429, "Too Many Requests"), DeliveryProblem.TOO_MANY_REQUESTS),
        (Failure(500, None, "Internal Server Error"), DeliveryProblem.UNAVAILABLE),
        (Failure(503, 20503, "Service unavailable"), DeliveryProblem.UNAVAILABLE),
    ],
)
def test_twilio_errors_map_to_plain_problems(twilio, failure, problem):
    twilio.failures.append(failure)
    with pytest.raises(DeliveryError) as caught:
        get_phone_backend().send(SMS)
    assert caught.value.problem is problem


def test_twilio_timeout_is_an_unavailable_gateway(twilio, settings):
    settings.TWILIO_TIMEOUT = 0.3
    twilio.delay = 1.0
    with pytest.raises(DeliveryError) as caught:
        get_phone_backend().send(SMS)
    assert caught.value.problem is DeliveryProblem.UNAVAILABLE


def test_twilio_client_never_logs_the_message_text(twilio, caplog):
    caplog.set_level(logging.DEBUG)
    get_phone_backend().send(SMS)
    assert "123456" not in caplog.text


def test_twilio_backend_needs_credentials(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(ImproperlyConfigured):
        from methods.backends.twilio import PhoneBackend

        PhoneBackend()


@pytest.fixture(autouse=True)
def no_kept_twilio_client():
    """Each test starts, and leaves, without a twilio client kept from another's settings."""
    from methods.backends import twilio

    yield
    kept = getattr(twilio._kept, "client", None)
    if kept is not None:
        twilio._close(kept[1])
        twilio._kept.client = None


def test_twilio_a_connection_left_idle_is_not_used_again(keeping_twilio, monkeypatch):
    """A connection unused for IDLE_SECONDS may have been dropped on the way without a word:
    the next message goes on a new one, and the old one is closed."""
    import time

    from methods.backends import twilio

    get_phone_backend().send(SMS)
    monkeypatch.setattr(twilio, "IDLE_SECONDS", 0)
    time.sleep(0.01)
    get_phone_backend().send(SMS)
    assert len(keeping_twilio.received) == 2 and keeping_twilio.connections == 2
    for _ in range(50):  # the server sees the old connection end
        if keeping_twilio.closed:
            break
        time.sleep(0.02)
    assert keeping_twilio.closed == 1


def test_twilio_messages_one_after_another_share_one_connection(keeping_twilio, settings):
    """The worker sends message after message: one connection to the provider is kept open
    and used for each (a new one for each message would cost a TLS handshake every time). A
    change of settings gets a client, and a connection, of its own."""
    for message in (SMS, VOICE, SMS):
        get_phone_backend().send(message)
    assert [r["kind"] for r in keeping_twilio.received] == ["Messages", "Calls", "Messages"]
    assert keeping_twilio.connections == 1
    settings.TWILIO_TIMEOUT = 3
    get_phone_backend().send(SMS)
    assert len(keeping_twilio.received) == 4 and keeping_twilio.connections == 2
