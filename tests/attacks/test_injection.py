"""What an administrator or a user writes must not turn into code somewhere else: spreadsheet
formulas in exports, script links in the helpdesk contact; and the headers and cookies that
keep pages from being embedded or read by other sites."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from policy.models import Policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(helpdesk_client) -> Client:
    return helpdesk_client


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_export_cells_never_start_a_formula(desk, make_user, start):
    person = make_user(f"{start}cmd")
    person.first_name = f'{start}HYPERLINK("http://evil")'
    person.save()
    content = b"".join(desk.get("/helpdesk/export.csv").streaming_content).decode()
    rows = list(csv.reader(io.StringIO(content)))
    for row in rows[1:]:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@")), row
    assert any(row[0] == f"'{start}cmd" for row in rows)


@pytest.mark.parametrize(
    "contact",
    [
        "javascript:alert(1)",
        "javascript://%0aalert(1)",
        "data:text/html,x",
        "vbscript:x",
        "http://help.example.org/sspr",  # plain http: changeable on its way, as the error says
    ],
)
def test_a_script_link_cannot_be_saved_as_the_helpdesk_contact(policy, contact):
    policy.helpdesk_contact = contact
    with pytest.raises(ValidationError):
        policy.full_clean()


@pytest.mark.parametrize(
    ("contact", "href"),
    [
        ("help@example.org", 'href="mailto:help@example.org"'),
        ("https://help.example.org/sspr", 'href="https://help.example.org/sspr"'),
        ("Call 0800 123 456", None),
        ("javascript://%0aalert(1)", None),  # stored before the rule: shown as text only
        ("http://help.example.org/sspr", None),  # stored before the rule: not a link
    ],
)
def test_the_helpdesk_contact_links_only_to_mail_and_the_web(client, policy, contact, href):
    Policy.objects.filter(pk=policy.pk).update(helpdesk_contact=contact)
    page = client.get("/ssprsetup/signin/").content.decode()
    assert contact in page or contact.replace("&", "&amp;") in page
    if href:
        assert href in page
    else:
        assert 'href="javascript' not in page and 'href="Call' not in page
        assert 'href="http://' not in page


def test_every_answer_carries_the_isolation_headers(client):
    for path in ("/ssprsetup/signin/", "/passwordreset/", "/static/css/site.css"):
        response = client.get(path)
        assert response["Cross-Origin-Resource-Policy"] == "same-origin", path
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", path


def test_the_language_cookie_is_http_only_and_same_site(client):
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/ssprsetup/signin/"})
    cookie = response.cookies["django_language"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_production_settings_make_the_language_cookie_secure():
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_DEBUG": "",
        "DJANGO_SETTINGS_MODULE": "sspr_site.settings",
    }
    code = "import django.conf as c; print(c.settings.LANGUAGE_COOKIE_SECURE)"
    # Outside pytest the production branch of the settings applies.
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"


MARKUP = '<b id="planted">Your pet?</b><a href="https://evil.example/">sign in here</a>'


def test_a_question_written_as_markup_is_shown_as_text(make_user, policy, settings):
    """An administrator's question reaches the public reset portal and everyone's setup page:
    its words are shown as they were typed, never read as markup (a planted link or form)."""
    from methods.models import AuthenticationPhone, SecurityAnswer, SecurityQuestion
    from methods.questions.answers import hash_answer, normalise
    from tests.support.people import sign_in
    from tests.support.resets import start_reset

    settings.SSPR_CAPTCHA_DIFFICULTY = 2000
    policy.set_option("questions", "reset_count", 3)  # all three asked: the planted one too
    policy.save()
    planted = SecurityQuestion.objects.create(text=MARKUP)
    others = list(SecurityQuestion.objects.filter(active=True).exclude(pk=planted.pk)[:2])
    rita = make_user("rita")
    AuthenticationPhone.objects.create(user=rita, number="+447400123456")
    for question in [planted, *others]:
        SecurityAnswer.objects.create(
            user=rita, question=question, answer_hash=hash_answer(normalise("answer"))
        )
    escaped = "&lt;b id=&quot;planted&quot;&gt;Your pet?&lt;/b&gt;"
    reset = Client()
    start_reset(reset, "rita")
    page = reset.get("/passwordreset/questions/").content.decode()
    assert escaped in page and 'id="planted"' not in page and 'evil.example/"' not in page
    own = Client()
    assert sign_in(own, "rita").status_code == 302
    page = own.get("/ssprsetup/questions/").content.decode()
    assert 'id="planted"' not in page and 'href="https://evil.example/"' not in page
    assert escaped in page
