"""A complete German translation: chosen by the browser or the selector, in pages and messages."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.test import Client

from methods.models import SecurityQuestion
from tests.conftest import PASSWORD, last_phone_code, register_email, register_phone

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

pytestmark = pytest.mark.django_db


def po_entries() -> list[tuple[str, str]]:
    """(msgid, first msgstr) pairs of the .po file, header excluded."""
    text = PO.read_text()
    entries = []
    for block in text.split("\n\n"):
        if "#, fuzzy" in block:
            entries.append(("FUZZY", ""))
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        msgstr = re.search(r'^msgstr(?:\[0\])? ((?:".*"\n?)+)', block, re.M)
        if not msgid:
            continue
        join = lambda m: "".join(re.findall(r'"(.*)"', m.group(1)))  # noqa: E731
        if join(msgid):
            entries.append((join(msgid), join(msgstr)))
    return entries


def test_every_message_is_translated_and_compiled():
    entries = po_entries()
    assert len(entries) > 400
    assert [msgid for msgid, msgstr in entries if not msgstr or msgid == "FUZZY"] == []
    with MO.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    # The compiled catalogue holds every message of the source file (none stale or missing).
    compiled = {key if isinstance(key, str) else key[0] for key in catalog._catalog} - {""}
    assert compiled == {unescape(msgid) for msgid, _ in entries}


def unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace('\\"', '"').replace("\\t", "\t")


def test_the_browser_language_chooses_german(client):
    page = client.get("/ssprsetup/signin/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert '<html lang="de">' in page
    assert "Für das Zurücksetzen des Passworts registrieren" in page
    assert "Benutzername" in page and "Passwort" in page


def test_the_selector_switches_language(client):
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/passwordreset/"})
    assert response["Location"] == "/passwordreset/"
    page = client.get("/passwordreset/").content.decode()
    assert "Passwort zurücksetzen oder Konto entsperren" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/passwordreset/"})
    assert "Reset your password" in client.get("/passwordreset/").content.decode()


def test_codes_and_calls_come_in_the_users_language(client, user, phone_outbox):
    client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    client.post("/ssprsetup/signin/", {"username": user.username, "password": PASSWORD})
    client.post("/ssprsetup/phone/", {"number": "+447400123456"})
    client.post("/ssprsetup/phone/send/", {"channel": "voice"})
    (call,) = phone_outbox
    assert call.language == "de"
    assert call.text.startswith("Hallo. Ihr Bestätigungscode lautet:")
    response = client.post("/ssprsetup/phone/verify/", {"code": last_phone_code()})
    assert response["Location"] == "/ssprsetup/"
    page = client.get("/ssprsetup/").content.decode()
    assert "Authentifizierungstelefon bestätigt" in page


def test_dates_and_questions_are_shown_for_the_language(client, user):
    client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    client.post("/ssprsetup/signin/", {"username": user.username, "password": PASSWORD})
    register_phone(client)
    register_email(client)
    client.post("/ssprsetup/finish/")
    page = client.get("/ssprsetup/").content.decode()
    assert re.search(r"Bestätigt am \d{1,2}\. \w+ \d{4}", page)
    questions = client.get("/ssprsetup/questions/").content.decode()
    assert "Wie hieß Ihr erstes Kuscheltier?" in questions
    own = SecurityQuestion.objects.create(text="Name of the office plant?")
    assert own.text in client.get("/ssprsetup/questions/").content.decode()


def test_english_stays_the_default():
    page = Client().get("/ssprsetup/signin/").content.decode()
    assert '<html lang="en">' in page and "Register for password reset" in page


@pytest.mark.django_db
def test_dates_read_the_same_everywhere_and_never_end_in_a_doubled_dot(make_user, mailoutbox):
    """A notice that ends a sentence with a time must not read "9:05 p.m..", and a date must
    not be month-first in one place and day-first in another."""
    import datetime

    from django.template import Context, Template
    from django.utils import translation

    moment = datetime.datetime(2026, 11, 24, 21, 5, tzinfo=datetime.UTC)
    with translation.override("en"):
        rendered = Template(
            '{{ m|date:"DATETIME_FORMAT" }}|{{ m|date:"SHORT_DATE_FORMAT" }}|'
            '{{ m|date:"DATE_FORMAT" }}'
        ).render(Context({"m": moment}))
    assert rendered == "24 November 2026, 21:05|24 Nov 2026|24 November 2026"
    with translation.override("de"):
        german = Template('{{ m|date:"DATETIME_FORMAT" }}').render(Context({"m": moment}))
    assert german.startswith("24. November 2026")
