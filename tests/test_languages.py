"""Every language complete (a missing or fuzzy entry fails), with its own plural forms; German
chosen by the browser or the selector, in pages and messages."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.utils.translation import to_locale

from methods.models import SecurityQuestion
from tests.support.codes import last_phone_code
from tests.support.people import PASSWORD
from tests.support.registering import register_email, register_phone

ROOT = Path(__file__).resolve().parent.parent

# Languages whose catalogues are still being translated: their completeness test is expected to
# fail (xfail, strict) until every entry is filled in. Empty this list as each one is done; a
# language that is complete while still listed fails the suite, so the list cannot go stale.
LANGUAGES_IN_PROGRESS: list[str] = []

TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]

pytestmark = pytest.mark.django_db


def catalogue(code: str) -> Path:
    return ROOT / "locale" / to_locale(code) / "LC_MESSAGES" / "django.po"


def read_catalogue(code: str):
    with catalogue(code).open("rb") as handle:
        return read_po(handle, locale=to_locale(code))


def compiled(code: str) -> gettext.GNUTranslations:
    with catalogue(code).with_suffix(".mo").open("rb") as handle:
        return gettext.GNUTranslations(handle)


def missing_or_fuzzy(code: str) -> list[str]:
    """Every msgid with an empty translation (any plural form) or marked fuzzy."""
    problems = []
    for message in read_catalogue(code):
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(forms):
            problems.append(message.id if isinstance(message.id, str) else message.id[0])
    return problems


def _complete(code: str):
    # Strict: once complete, this XPASS fails until the language leaves LANGUAGES_IN_PROGRESS.
    reason = "being translated; when complete, remove it from LANGUAGES_IN_PROGRESS"
    marks = [pytest.mark.xfail(reason=reason, strict=True)]
    return pytest.param(code, marks=marks if code in LANGUAGES_IN_PROGRESS else [])


def test_every_language_has_a_catalogue_and_the_in_progress_list_names_only_them():
    assert set(LANGUAGES_IN_PROGRESS) <= set(TRANSLATED)
    for code in TRANSLATED:
        assert catalogue(code).is_file(), code
        assert len(list(read_catalogue(code))) > 400, code


@pytest.mark.parametrize("code", [_complete(code) for code in TRANSLATED])
def test_every_message_is_translated(code):
    """A missing or fuzzy entry fails (README, "Languages")."""
    assert missing_or_fuzzy(code) == []


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_compiled_catalogue_is_the_source(code):
    """The .mo holds exactly the translated entries of the .po: none stale, none missing."""
    messages = read_catalogue(code)
    translated = set()
    for message in messages:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and not message.fuzzy and any(forms):
            key = message.id if isinstance(message.id, str) else message.id[0]
            # A message with a context is kept under both, joined as gettext joins them.
            translated.add(f"{message.context}\x04{key}" if message.context else key)
    keys = {key if isinstance(key, str) else key[0] for key in compiled(code)._catalog} - {""}
    assert keys == translated


# How many forms each language has and which form sample numbers take (CLDR): one, few, many.
PLURAL_SAMPLES = {
    "pl": {1: 0, 2: 1, 4: 1, 22: 1, 5: 2, 12: 2, 14: 2, 25: 2, 112: 2, 0: 2},
    "ar": {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 103: 3, 11: 4, 99: 4, 100: 5, 102: 5},
    "ja": {0: 0, 1: 0, 2: 0, 5: 0, 100: 0},
    "fr": {0: 0, 1: 0, 2: 1},
    "pt-br": {0: 0, 1: 0, 2: 1},
}


@pytest.mark.parametrize("code", TRANSLATED)
def test_plural_forms_are_the_languages_own(code):
    """Polish has three forms, Arabic six, Japanese one; every plural entry has a slot for
    each, and the compiled rule picks the right one."""
    expected = get_plural(to_locale(code)).num_plurals
    messages = read_catalogue(code)
    assert messages.num_plurals == expected
    for message in messages:
        if message.pluralizable:
            assert len(message.string) == expected, message.id
    rule = compiled(code).plural
    for number, form in PLURAL_SAMPLES.get(code, {1: 0, 2: 1}).items():
        assert rule(number) == form, (code, number)


def test_the_picker_lists_every_language_by_its_own_name(client):
    page = client.get("/ssprsetup/signin/").content.decode()
    for code, own_name in [
        ("en", "English"),
        ("de", "Deutsch"),
        ("fr", "français"),
        ("es", "español"),
        ("it", "italiano"),
        ("pt-br", "Português Brasileiro"),
        ("nl", "Nederlands"),
        ("pl", "polski"),
        ("ja", "日本語"),
        ("ar", "العربيّة"),
    ]:
        assert f'<option value="{code}" lang="{code}"' in page
        assert own_name.casefold() in page.casefold(), own_name


def test_the_picker_selects_the_pages_language_whichever_was_read_before(client):
    """The picker's options are rendered once per language and kept (sspr_site/templatetags/
    layout.py): each page still selects its own language, and only that one."""
    for accept in ("de", "ja", "de", "en", "ar"):
        page = client.get("/ssprsetup/signin/", HTTP_ACCEPT_LANGUAGE=accept).content.decode()
        assert page.count(" selected>") == 1
        assert f'<option value="{accept}" lang="{accept}" selected>' in page


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
    client.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "voice"})
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
    assert rendered == "24 November 2026, 21:05 UTC|24 Nov 2026|24 November 2026"
    with translation.override("de"):
        german = Template('{{ m|date:"DATETIME_FORMAT" }}').render(Context({"m": moment}))
    assert german.startswith("24. November 2026")


@pytest.mark.parametrize("code", [code for code, _name in settings.LANGUAGES])
def test_a_time_says_its_time_zone_in_every_language(code, settings):
    """A notice or a page may be read far from the organisation: a date with a time names the
    organisation's time zone, and the day comes before the month's name in every language
    but Japanese (whose year comes first)."""
    import datetime

    from django.utils import formats, timezone, translation

    settings.TIME_ZONE = "Europe/Berlin"
    moment = datetime.datetime(2026, 11, 24, 21, 5, tzinfo=datetime.UTC)
    with translation.override(code):
        local = timezone.localtime(moment)
        for kind in ("DATETIME_FORMAT", "SHORT_DATETIME_FORMAT"):
            shown = formats.date_format(local, kind)
            assert "22:05" in shown and shown.endswith("CET"), (code, kind, shown)
        shown = formats.date_format(local, "DATETIME_FORMAT")
        names = {formats.date_format(local, f) for f in ("F", "E")}  # E: Polish's genitive
        (month,) = (shown.index(name) for name in names if name in shown)
        if code != "ja":
            assert shown.index("24") < month, (code, shown)


def test_an_offset_for_a_zone_without_a_name_reads_left_to_right_in_arabic(settings):
    """A zone with no letters for a name shows its offset ("+03"); in right-to-left text a mark
    before it keeps the sign before the digits, in pages and plain-text notices alike."""
    import datetime

    from django.utils import formats, timezone, translation

    settings.TIME_ZONE = "Asia/Riyadh"
    moment = datetime.datetime(2026, 11, 24, 21, 5, tzinfo=datetime.UTC)
    with translation.override("ar"):
        local = timezone.localtime(moment)
        for kind in ("DATETIME_FORMAT", "SHORT_DATETIME_FORMAT"):
            assert formats.date_format(local, kind).endswith("00:05 \u200e+03"), kind


@pytest.mark.django_db
def test_the_example_numbers_in_a_phone_error_read_left_to_right_in_arabic(client, user):
    """In right-to-left text "+44 7400 123456" would show its + after the digits and break
    across lines: each example number is isolated left to right, as the field itself is."""
    from django.utils import translation

    from tests.support.people import sign_in

    sign_in(client, user.username)
    with translation.override("ar"):
        client.cookies["django_language"] = "ar"
        page = client.post(
            "/ssprsetup/phone/", {"region": "GB", "number": "call me", "channel": "sms"}
        ).content.decode()
    assert "\u2066+44 7400 123456\u2069" in page and "\u206607400 123456\u2069" in page


def test_a_reset_that_happened_and_the_service_are_told_apart(settings):
    """The audit log says a password *was* reset; the admin's section and a code's purpose name
    the service ("Password reset" is both in English)."""
    from django.utils import translation

    from audit.models import EventKind
    from methods.code.models import Purpose

    with translation.override("de"):
        assert str(EventKind.PASSWORD_RESET.label) == "Passwort zurückgesetzt"
        assert str(Purpose.RESET.label) == "Zurücksetzen des Passworts"
    with translation.override("fr"):
        assert str(EventKind.PASSWORD_RESET.label) == "Mot de passe réinitialisé"
        assert str(Purpose.RESET.label) == "Réinitialisation du mot de passe"


@pytest.mark.parametrize(("code", "mark"), [("ar", "؟"), ("ja", "？")])
def test_a_question_as_a_label_takes_no_colon_after_its_own_question_mark(client, code, mark):
    """A label asking a question ("What do you need?") takes no colon after it, in Arabic and
    Japanese either, whose question marks are their own."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
    page = client.get("/passwordreset/").content.decode()
    assert f'<html lang="{code}"' in page and mark in page
    assert f"{mark}:" not in page and f"{mark}：" not in page
