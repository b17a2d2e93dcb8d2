"""/passwordreset/'s first step in Chromium: Continue waits for the robot check (ALTCHA)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.support.browser import check_accessibility

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SOLVED = (
    "() => { const f = document.querySelector('input[name=altcha]');"
    " return f && f.value.length > 20; }"
)


@pytest.mark.parametrize("width", [1280, 390])
def test_continue_waits_until_the_check_is_done(browser, live_server, make_user, settings, width):
    settings.SSPR_CAPTCHA_DIFFICULTY = 20_000
    make_user("rita")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    # The challenge is held back: the check stays at "Verifying…" until it is let through.
    held = []
    challenge = f"**{reverse('passwordreset:challenge')}*"
    page.route(challenge, lambda route: held.append(route))
    page.goto("/passwordreset/")
    page.locator("#id_username").fill("rita")
    continue_button = page.get_by_role("button", name="Continue")
    expect(continue_button).to_be_disabled()
    assert page.get_by_text("Continue can be pressed once the check is done.").is_visible()
    check_accessibility(page, f"reset-start-waiting-{width}")
    continue_button.click(force=True)  # pressed anyway: nothing is sent
    assert page.url.endswith("/passwordreset/") and not page.get_by_role("alert").count()
    assert held, "the widget asked for a challenge"
    for route in held:
        route.continue_()
    page.unroute(challenge)
    page.wait_for_function(SOLVED, timeout=30000)
    expect(continue_button).to_be_enabled()
    assert not page.get_by_text("Continue can be pressed once the check is done.").is_visible()
    check_accessibility(page, f"reset-start-ready-{width}")
    continue_button.click()
    page.get_by_role("heading", name="Prove it is you").wait_for()
    context.close()


def test_without_javascript_continue_stays_and_the_budget_is_explained(
    browser, live_server, settings
):
    """Continue is never held back without JavaScript. Past the starts allowed without the
    check, the server's answer says why, next to the form."""
    settings.SSPR_STARTS_WITHOUT_SCRIPT_PER_IP_PER_HOUR = 1
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    for name in ("rita", "someone-else"):
        page.goto("/passwordreset/")
        continue_button = page.get_by_role("button", name="Continue")
        assert continue_button.is_enabled()
        page.get_by_label("Username").fill(name)
        continue_button.click()
    page.get_by_role("alert").get_by_text(
        "Too many resets were started without JavaScript"
    ).wait_for()
    context.close()


def test_the_check_unticked_by_the_keyboard_runs_again(browser, live_server, make_user, settings):
    """Nothing to solve by hand: a stray Space on the done check runs it again at once, and
    Continue comes back without ticking the box again."""
    settings.SSPR_CAPTCHA_DIFFICULTY = 20_000
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto("/passwordreset/")
    page.wait_for_function(SOLVED, timeout=30000)
    page.evaluate(
        "() => { window.states = []; document.querySelector('altcha-widget')"
        ".addEventListener('statechange', e => window.states.push(e.detail.state)); }"
    )
    page.locator("altcha-widget input[type=checkbox]").focus()
    page.keyboard.press("Space")
    page.wait_for_function("() => window.states.slice(-1)[0] === 'verified'", timeout=30000)
    assert page.evaluate("window.states")[0] == "unverified"
    expect(page.get_by_role("button", name="Continue")).to_be_enabled()
    context.close()
