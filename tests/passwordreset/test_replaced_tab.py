"""A reset started in a second tab of the same browser replaces the first tab's attempt: each
step's form names the attempt it belongs to, and a step sent from a replaced tab is not used
(passwordreset.views.reset_page, README "/passwordreset/")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from audit.models import Event
from passwordreset import captcha
from passwordreset.views import REPLACED
from tests.support.codes import last_phone_code
from tests.support.people import sign_in
from tests.support.resets import (
    card_form,
    shows_methods_page,
    shows_reset_code_page,
    start_reset,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
JSON = {"HTTP_ACCEPT": "application/json"}
NEW = "violet-harbour-quartz-7"

# Every form a step after the first page sends, with what a person would type in it.
STEPS = [
    ("/passwordreset/action/", {"action": "unlock"}),
    ("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"}),
    ("/passwordreset/phone/code/", {"code": "123456"}),
    ("/passwordreset/email/", {"email": "rita.home@example.net"}),
    ("/passwordreset/questions/", {"answer_1": "blue whale"}),
    ("/passwordreset/authenticator/", {"code": "123456"}),
    ("/passwordreset/recovery-codes/", {"proof": "abcd-efgh-jkmn"}),
    ("/passwordreset/passkey/", {"credential": "{}"}),
    ("/passwordreset/finish/", {"new_password1": NEW, "new_password2": NEW}),
    ("/passwordreset/more-time/", {"next": "/passwordreset/methods/"}),
    ("/passwordreset/phone/code/more-time/", {}),
]


@pytest.fixture
def every_method(policy):
    for key in ("questions", "authenticator", "recovery_codes", "passkey"):
        policy.set_option(key, "enabled", True)
    policy.save()
    return policy


def _two_tabs(client, first: str = "rita", second: str = "rita") -> str:
    """The first tab's attempt, asked a code; then a newer one started in the second tab."""
    start_reset(client, first)
    sent = client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    assert shows_reset_code_page(sent)
    replaced = client.session["sspr_reset"]["attempt"]
    start_reset(client, second)
    assert client.session["sspr_reset"]["attempt"] != replaced
    return replaced


def test_a_card_of_the_first_pages_answer_sent_from_a_replaced_tab_sends_nothing(
    client, registered, phone_outbox
):
    """The methods page comes in the answer to the first page: the phone card's form there
    names its attempt too, and sent after a newer attempt began in another tab it asks for no
    code and says so."""
    answer = client.post(
        "/passwordreset/",
        {
            "username": "rita",
            "action": "reset",
            "altcha": captcha.solve(client.get("/passwordreset/check/").json()),
        },
    )
    assert shows_methods_page(answer)
    card = card_form(answer.content.decode(), "/passwordreset/phone/")
    attempt = re.search(r'name="attempt" value="([0-9a-f]+)"', card).group(1)
    assert attempt == client.session["sspr_reset"]["attempt"]
    start_reset(client, "rita")  # the second tab
    sent = client.post(
        "/passwordreset/phone/",
        {"number": "+447400123456", "channel": "sms", "attempt": attempt},
        follow=True,
    )
    assert str(REPLACED) in sent.content.decode()
    assert not phone_outbox


@pytest.mark.parametrize(("path", "data"), STEPS, ids=[path for path, _data in STEPS])
def test_a_step_sent_from_a_replaced_tab_changes_nothing_and_says_so(
    client, registered, every_method, path, data
):
    replaced = _two_tabs(client)
    newer = client.session["sspr_reset"]
    events = Event.objects.count()
    response = client.post(path, {**data, "attempt": replaced}, follow=True)
    assert response.redirect_chain == [("/passwordreset/methods/", 302)]
    assert str(REPLACED) in response.content.decode()
    assert client.session["sspr_reset"] == newer  # no method, code, choice or time for it
    assert Event.objects.count() == events
    registered.refresh_from_db()
    assert not registered.check_password(NEW)


@pytest.mark.parametrize(
    "path", ["/passwordreset/more-time/", "/passwordreset/phone/code/more-time/"]
)
def test_more_time_asked_by_the_script_from_a_replaced_tab_is_refused_as_replaced(
    client, registered, path
):
    """js/time-limit.js asks with the page's form: from a replaced tab the answer says so (the
    script then shows the same sentence), and the newer attempt gets no time."""
    replaced = _two_tabs(client)
    newer = client.session["sspr_reset"]
    answer = client.post(path, {"attempt": replaced}, **JSON)
    assert answer.status_code == 409 and answer.json()["replaced"] is True
    assert client.session["sspr_reset"] == newer
    # From the newer attempt's own page, time is given as before.
    own = client.post("/passwordreset/more-time/", {"attempt": newer["attempt"]}, **JSON)
    assert own.status_code == 200


def test_a_check_before_a_change_replaced_by_a_reset_is_not_used(client, registered):
    """A signed-in person proving a method before a change, then a reset in another tab: the
    check's code, sent from its tab, proves nothing for the reset."""
    assert sign_in(client, "rita").status_code == 302
    client.get("/passwordreset/prove/?next=/ssprsetup/email/")
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    check = client.session["sspr_reset"]["attempt"]
    code = last_phone_code()
    start_reset(client, "rita")
    newer = client.session["sspr_reset"]
    response = client.post(
        "/passwordreset/phone/code/", {"code": code, "attempt": check}, follow=True
    )
    assert str(REPLACED) in response.content.decode()
    assert client.session["sspr_reset"] == newer


def test_every_form_of_a_step_after_the_first_names_its_attempt():
    """A template of a reset step (the first page's aside) has no POST form without its
    attempt: a form added later without it would let a replaced tab's step through."""
    templates = [
        *ROOT.glob("passwordreset/templates/passwordreset/*.html"),
        *ROOT.glob("methods/**/templates/**/reset*.html"),
    ]
    assert len(templates) > 8
    forms = 0
    for template in templates:
        if template.name == "start.html":  # the first page: no attempt yet
            continue
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", template.read_text(), re.S):
            forms += 1
            # A shaped block (sspr_site/shapes.py) has no request: it prints the field itself.
            assert (
                'include "includes/reset_attempt.html"' in form
                or 'name="attempt" value="{{ attempt }}"' in form
            ), template
    assert forms >= 8
    limits = (ROOT / "templates/includes/time_limit.html").read_text()
    assert limits.count('name="attempt" value="{{ attempt }}"') == 2
