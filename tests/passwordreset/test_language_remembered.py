"""The person's language is remembered and everything sent to them later is in it (README,
"Languages"): a person who registered in Polish gets their reset code, the notice and a voice
call in Polish, whatever language the page that asked for them was in."""

from __future__ import annotations

import json
import re
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from policy.models import Policy
from registration.models import PreferredLanguage
from registration.reminders import reminders_send
from tests.support.fake_twilio import FakeTwilio
from tests.support.people import sign_in
from tests.support.registering import register_email, register_phone
from tests.support.resets import shows_done_page, start_reset

pytestmark = pytest.mark.django_db

SID = "AC" + "0" * 31 + "7"
NEW_PASSWORD = "a-brand-new-passphrase-42"
POLISH = {"HTTP_ACCEPT_LANGUAGE": "pl-PL,pl;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def polish(message: str) -> str:
    """`message` as the Polish catalogue has it; the test needs it translated."""
    with translation.override("pl"):
        translated = translation.gettext(message)
    assert translated != message, f"translate {message!r} in locale/pl"
    return translated


def stored(user) -> str | None:
    row = PreferredLanguage.objects.filter(user=user).first()
    return row.language if row else None


def test_the_browsers_language_is_stored_at_the_first_sign_in_only(user):
    assert sign_in(Client(**POLISH), user.username).status_code == 302
    assert stored(user) == "pl"
    # Signing in later from a browser set to English does not undo it.
    assert sign_in(Client(**ENGLISH), user.username).status_code == 302
    assert stored(user) == "pl"


def test_the_picker_stores_a_signed_in_persons_choice(user):
    client = Client(**ENGLISH)
    sign_in(client, user.username)
    assert stored(user) == "en"
    response = client.post("/i18n/setlang/", {"language": "ja", "next": "/ssprsetup/"})
    assert response["Location"] == "/ssprsetup/"
    assert stored(user) == "ja"
    assert '<html lang="ja"' in client.get("/ssprsetup/").content.decode()
    # A language the site does not offer changes nothing.
    client.post("/i18n/setlang/", {"language": "xx", "next": "/ssprsetup/"})
    assert stored(user) == "ja"


def test_a_language_picked_on_the_sign_in_page_is_stored_at_sign_in(user):
    """Someone whose browser language was stored earlier picks another language before
    signing in: what is sent to them afterwards is in the one they picked."""
    assert sign_in(Client(**ENGLISH), user.username).status_code == 302
    assert stored(user) == "en"
    client = Client(**ENGLISH)
    client.post("/i18n/setlang/", {"language": "de", "next": "/ssprsetup/signin/"})
    assert not PreferredLanguage.objects.filter(language="de").exists()  # nobody to store it for
    assert sign_in(client, user.username).status_code == 302
    assert stored(user) == "de" and PreferredLanguage.objects.get(user=user).chosen
    # A later sign-in from a browser without the cookie keeps the choice.
    assert sign_in(Client(**POLISH), user.username).status_code == 302
    assert stored(user) == "de"


def test_the_picker_stores_nothing_for_someone_not_signed_in():
    Client().post("/i18n/setlang/", {"language": "pl", "next": "/passwordreset/"})
    assert not PreferredLanguage.objects.exists()


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio(SID, "token").start()
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE_URL = fake.base_url
    settings.TWILIO_TIMEOUT = 2
    yield fake
    fake.stop()


@pytest.fixture
def polish_person(make_user):
    """Registered (phone and email) from a browser in Polish."""
    person = make_user("piotr")
    client = Client(**POLISH)
    sign_in(client, person.username)
    register_phone(client)
    register_email(client, "piotr.dom@example.net")
    assert stored(person) == "pl"
    return person


def _phone_files(folder: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def _emails(folder: Path):
    """Every message the file backend wrote. It names a file by the second and the backend
    object's id, so two messages sent in one second may share a file: each is followed by a
    line of 79 dashes."""
    separator = b"\n" + b"-" * 79 + b"\n"
    return [
        message_from_bytes(part)
        for path in sorted(folder.glob("*.log"))
        for part in path.read_bytes().split(separator)
        if part.strip()
    ]


def _body(message) -> str:
    part = message.get_payload(decode=True) or message.get_payload()[0].get_payload(decode=True)
    return part.decode(message.get_content_charset() or "utf-8")


def test_a_person_registered_in_polish_gets_the_reset_text_notice_and_call_in_polish(
    polish_person, settings, tmp_path, twilio
):
    settings.SSPR_PHONE_BACKEND = "file"
    settings.SSPR_PHONE_FILE_PATH = str(tmp_path / "texts")
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")

    # The reset is asked for from a browser in English.
    client = Client(**ENGLISH)
    assert start_reset(client, "piotr").status_code == 302
    assert '<html lang="en">' in client.get("/passwordreset/methods/").content.decode()
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    (text,) = _phone_files(tmp_path / "texts")
    assert text["language"] == "pl"
    code = re.search(r"\d{6}", text["text"]).group()
    sms = polish(
        "%(code)s is your verification code. It expires in 10 minutes. Never share "
        "it with anyone who contacts you."
    ) % {"code": code}
    assert text["text"] == sms
    client.post("/passwordreset/phone/code/", {"code": code})
    response = client.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert shows_done_page(response)
    notices = _emails(tmp_path / "mail")
    assert {notice["To"] for notice in notices} == {"piotr@example.org", "piotr.dom@example.net"}
    for notice in notices:
        subject = str(make_header(decode_header(notice["Subject"])))
        assert subject == polish("Your password was reset")
        body = _body(notice)
        assert body.startswith(polish("Hello %(name)s,") % {"name": "Piotr"})
        assert (
            polish(
                "If this was you, there is nothing to do.\nIf it was not, contact your "
                "helpdesk straight away."
            )
            in body
        )

    # A call, through the Twilio API stand-in: a Polish voice, the code digit by digit, twice.
    settings.SSPR_PHONE_BACKEND = "twilio"
    again = Client(**ENGLISH)
    start_reset(again, "piotr")
    again.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "voice"})
    (call,) = twilio.received
    assert call["kind"] == "Calls"
    voice = '<Say language="pl-PL" voice="Polly.Ewa">'
    assert f"{voice}{polish('Hello. Your verification code is:')}</Say>" in call["Twiml"]
    assert f"{voice}{polish('Once more, your code is:')}</Say>" in call["Twiml"]
    digits = re.findall(voice + r'(\d)</Say><Pause length="1" />', call["Twiml"])
    assert len(digits) == 12 and digits[:6] == digits[6:]
    assert "<Say" not in call["Twiml"].replace(voice, "")


def test_reminders_go_out_in_each_persons_language(make_user, mailoutbox):
    polish_reader, english_reader = make_user("pola"), make_user("edgar")
    PreferredLanguage.objects.create(user=polish_reader, language="pl")
    report = reminders_send(policy=Policy.load())
    assert report.sent == 2
    subjects = {message.to[0]: message.subject for message in mailoutbox}
    assert subjects[polish_reader.email] == polish("Register for self-service password reset")
    assert subjects[english_reader.email] == "Register for self-service password reset"


def test_a_method_change_notice_is_in_the_persons_language_whatever_the_page(polish_person):
    """The notice (and its "That wasn't me" link) of a change made from an English page
    reaches a person who chose Polish in Polish."""
    from django.core import mail

    from tests.support.registering import prove_with_phone

    client = Client(**ENGLISH)
    sign_in(client, "piotr")
    prove_with_phone(client)
    mail.outbox.clear()
    client.post("/ssprsetup/email/remove/")
    notices = [m for m in mail.outbox if "/ssprsetup/not-me/" in m.body]
    assert {m.to[0] for m in notices} == {"piotr@example.org", "piotr.dom@example.net"}
    for notice in notices:
        assert f"{polish('Authentication email')}: {polish('removed')}" in notice.body


def test_an_administrators_notice_is_in_each_administrators_language(make_user, mailoutbox):
    """When an administrator account is reset, every other superuser is told in their own
    language (or the site's), not in the language of the page the reset was made on."""
    from passwordreset.flows import _notify_admins

    reset_admin = make_user("root1", staff=True, is_superuser=True)
    polish_admin = make_user("root2", staff=True, is_superuser=True)
    english_admin = make_user("root3", staff=True, is_superuser=True)
    PreferredLanguage.objects.create(user=polish_admin, language="pl")
    with translation.override("de"):
        _notify_admins(reset_admin, "reset")
    subjects = {message.to[0]: message.subject for message in mailoutbox}
    assert set(subjects) == {polish_admin.email, english_admin.email}
    with translation.override("en"):
        english = translation.gettext(
            str(
                __import__("django").template.loader.render_to_string(
                    "passwordreset/messages/admin_notice_subject.txt",
                    {"username": "root1", "action": "reset"},
                )
            ).strip()
        )
    assert subjects[english_admin.email] == english
    assert subjects[polish_admin.email] != english
