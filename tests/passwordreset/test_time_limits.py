"""The reset attempt's 15 minutes can be extended, with or without JavaScript (WCAG 2.2, 2.2.1),
at least ten times; the same for every account (docs/security.md, "No enumeration")."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings

from passwordreset import state as reset_state
from passwordreset.flows import SENDS_PER_ATTEMPT
from tests.support.people import sign_in
from tests.support.resets import shows_reset_code_page, start_reset

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


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


def test_an_attempt_a_newer_host_wrote_goes_on_here(client, registered):
    """While several versions serve the site, a host reads an attempt written by a newer one,
    with a field it does not know: the attempt goes on, rather than starting again."""
    start_reset(client, "rita")
    session = client.session
    session[reset_state.SESSION_KEY] = {**session[reset_state.SESSION_KEY], "added_later": 1}
    session.save()
    page = client.get("/passwordreset/methods/")
    assert page.status_code == 200 and "Authentication phone" in page.content.decode()


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
    # With and without the attempt the page belongs to (none on a setup page).
    shapes = [{**shape, "attempt": attempt} for shape in shapes for attempt in ("", "0a1b")]
    with translation.override(language):
        for shape in shapes:
            for seconds, hint, nxt, token, attempt in (
                (899, "You can add time 10 more times.", "/passwordreset/methods/", "a1", "9f"),
                (0, 'Odd "hint" <b> & more', '/passwordreset/?a=1&b="2"', "<t&k>", '<"&>'),
            ):
                data = {
                    "show": True,
                    **shape,
                    "seconds_left": seconds,
                    "warn_seconds": WARN_SECONDS,
                    "hint": hint,
                    "next": nxt,
                    "csrf_token": token,
                    "attempt": attempt if shape["attempt"] else "",
                }
                expected = render_to_string("includes/time_limit.html", data)
                shaped = render_time_limit(data)
                assert shaped == expected, (shape, seconds)
                assert "\x00" not in shaped
    assert render_time_limit({"show": False}) == ""


def _time_limits(page: str) -> dict[str, str]:
    """Each time limit's block on a page, by kind (code, attempt), in the page's order."""
    found = re.findall(r'<div class="time-limit" data-time-limit="(\w+)"(.*?)</div>', page, re.S)
    return dict(found)


def _warning_and_button(block: str) -> tuple[str, list[str]]:
    warning = re.search(r"<p hidden data-warning>([^<]+)</p>", block).group(1)
    return warning, [b.strip() for b in re.findall(r"<button type=\"submit\"[^>]*>([^<]+)<", block)]


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_each_warning_names_its_own_button_after_the_code_field(client, registered, language):
    """A code's page has two "More time" buttons: the warning a minute before each end names
    the button that extends it, word for word, in every language; and the code's field comes
    before both, so the keyboard reaches what the page is for first."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    start_reset(client, "rita")
    response = client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    assert shows_reset_code_page(response)
    page = response.content.decode()
    assert f'<html lang="{language}"' in page
    blocks = _time_limits(page)
    assert list(blocks) == ["code", "attempt"]
    for kind, block in blocks.items():
        warning, (button,) = _warning_and_button(block)
        assert button in warning, (language, kind, button, warning)
    assert page.index('name="code"') < page.index('data-time-limit="code"')


def test_a_check_before_a_change_warns_with_its_own_button(client, registered):
    assert sign_in(client, "rita").status_code == 302
    client.get("/passwordreset/prove/?next=/ssprsetup/email/")
    page = client.get("/passwordreset/methods/").content.decode()
    warning, buttons = _warning_and_button(_time_limits(page)["attempt"])
    assert buttons == ["More time for this check"]
    assert "Press “More time for this check”" in warning


def test_past_the_last_extension_the_warning_names_no_button(client, registered, clock):
    """Once no more time can be added the button is gone, and the warning does not ask for a
    press of it."""
    start_reset(client, "rita")
    for _ in range(reset_state.MAX_EXTENSIONS):
        clock[0] += 60
        assert client.post("/passwordreset/more-time/", {}, **JSON).status_code == 200
    page = client.get("/passwordreset/methods/").content.decode()
    warning, buttons = _warning_and_button(_time_limits(page)["attempt"])
    assert buttons == []
    assert warning == (
        "Less than a minute is left to finish this reset, and no more time can be added to it."
    )


def test_the_first_page_shows_no_earlier_attempts_time_limit(client, registered):
    """Back on the first page with an attempt live in the session: the page starts a new one
    and offers no "More time" for the old one."""
    start_reset(client, "rita")
    assert "/passwordreset/more-time/" in client.get("/passwordreset/methods/").content.decode()
    assert "/passwordreset/more-time/" not in client.get("/passwordreset/").content.decode()
