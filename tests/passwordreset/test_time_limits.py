"""The reset attempt's 15 minutes can be extended, with or without JavaScript (WCAG 2.2, 2.2.1),
at least ten times; the same for every account (docs/security.md, "No enumeration")."""

from __future__ import annotations

import time

import pytest

from passwordreset import state as reset_state
from passwordreset.flows import SENDS_PER_ATTEMPT
from tests.support.resets import shows_reset_code_page, start_reset

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(reset_state.time, "time", lambda: now[0])
    return now


def test_more_time_keeps_the_attempt_alive_ten_times_and_more(client, registered, clock):
    start_reset(client, "rita")
    for _ in range(10):
        clock[0] += 14 * 60
        response = client.post(
            "/passwordreset/more-time/", {"next": "/passwordreset/methods/"}, follow=True
        )
        assert response.redirect_chain[-1][0] == "/passwordreset/methods/"
        assert "You have another 15 minutes." in response.content.decode()
    clock[0] += 14 * 60
    page = client.get("/passwordreset/methods/").content.decode()
    assert "Prove it is you" in page or "time-limit" in page
    assert "up to 10 times" in page


def test_more_time_answers_the_script_and_stops_at_the_limit(client, registered, clock):
    start_reset(client, "rita")
    for expected in range(reset_state.MAX_EXTENSIONS - 1, -1, -1):
        answer = client.post("/passwordreset/more-time/", HTTP_ACCEPT="application/json")
        assert answer.status_code == 200
        assert answer.json() == {
            "seconds_left": 900,
            "extensions_left": expected,
            "hint": (
                f"Need more time? You can ask for another 15 minutes up to {expected} times."
                if expected > 1
                else "Need more time? You can ask for another 15 minutes once more."
                if expected == 1
                else ""
            ),
        }
    assert (
        client.post("/passwordreset/more-time/", HTTP_ACCEPT="application/json").status_code == 409
    )


def test_an_ended_attempt_cannot_be_extended(client, registered, clock):
    start_reset(client, "rita")
    clock[0] += 16 * 60
    response = client.post("/passwordreset/more-time/", {"next": "/passwordreset/methods/"})
    assert "Please start again" in response.content.decode()
    assert (
        client.post("/passwordreset/more-time/", HTTP_ACCEPT="application/json").status_code == 410
    )


def test_more_time_never_leads_off_the_site(client, registered):
    start_reset(client, "rita")
    response = client.post("/passwordreset/more-time/", {"next": "https://evil.example/"})
    assert response["Location"] == "/passwordreset/methods/"


def test_an_attempt_given_more_time_still_counts_its_codes_past_the_hour(client, registered, clock):
    """More time is not more tries: the attempt's limits hold for its whole life."""
    start_reset(client, "rita")
    phone = {"number": "+447400123456", "channel": "sms"}
    for _ in range(SENDS_PER_ATTEMPT):
        assert shows_reset_code_page(client.post("/passwordreset/phone/", phone))
    for _ in range(5):  # 70 minutes later, the attempt kept alive all along
        clock[0] += 14 * 60
        client.post("/passwordreset/more-time/", {"next": "/passwordreset/methods/"})
    assert client.post("/passwordreset/phone/", phone).status_code == 429


@pytest.mark.parametrize("language", ["en", "pl", "ar"])
def test_the_time_limit_rendered_once_per_shape_reads_as_the_template_renders_it(language):
    """The time limit's block is rendered once per language and shape and then filled in
    (registration/templatetags/time_limits.py): for every shape, with values that need
    escaping, it is exactly what the template gives for those values, and a second page with
    other values gets its own."""
    from django.template.loader import render_to_string
    from django.utils import translation

    from registration.templatetags.time_limits import WARN_SECONDS, render_time_limit

    shapes = [
        {"kind": "attempt", "proof": proof, "extend_url": extend, "renew_url": ""}
        for proof in (False, True)
        for extend in ("", "/passwordreset/more-time/")
    ] + [
        {"kind": "code", "proof": False, "extend_url": extend, "renew_url": renew}
        for extend in ("", "/passwordreset/phone/more-time/")
        for renew in ("", "/passwordreset/phone/")
    ]
    with translation.override(language):
        for shape in shapes:
            for seconds, hint, nxt, token in (
                (899, "You can add time 10 more times.", "/passwordreset/methods/", "a1"),
                (0, 'Odd "hint" <b> & more', '/passwordreset/?a=1&b="2"', "<t&k>"),
            ):
                data = {
                    "show": True,
                    **shape,
                    "seconds_left": seconds,
                    "warn_seconds": WARN_SECONDS,
                    "hint": hint,
                    "next": nxt,
                    "csrf_token": token,
                }
                expected = render_to_string("includes/time_limit.html", data)
                shaped = render_time_limit(data)
                assert shaped == expected, (shape, seconds)
                assert "\x00" not in shaped
    assert render_time_limit({"show": False}) == ""


@pytest.mark.parametrize("language", ["en", "de", "fr", "ja", "ar"])
def test_each_warning_names_its_own_button_after_the_code_field(client, registered, language):
    """A code's page has two "More time" buttons: the warning a minute before each end names
    the button that extends it, word for word, in every language; and the code's field comes
    before both, so the keyboard reaches what the page is for first."""
    import re

    client.cookies["django_language"] = language
    start_reset(client, "rita")
    response = client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    assert shows_reset_code_page(response)
    page = response.content.decode()
    assert f'<html lang="{language}"' in page
    blocks = re.findall(r'<div class="time-limit" data-time-limit="(\w+)".*?</div>', page, re.S)
    assert blocks == ["code", "attempt"]
    for kind in blocks:
        block = re.search(rf'data-time-limit="{kind}".*?</div>', page, re.S).group(0)
        (button,) = re.findall(r'<button type="submit"[^>]*>([^<]+)</button>', block)
        warning = re.search(r"<p hidden data-warning>([^<]+)</p>", block).group(1)
        assert button.strip() in warning, (language, kind, button, warning)
    assert page.index('name="code"') < page.index('data-time-limit="code"')
