"""The reset portal in Chromium, with the real proof-of-work widget."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from methods.models import AuthenticationPhone
from tests.support.browser import ARTIFACTS, check_accessibility
from tests.support.codes import latest_phone_code, message_count

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "another-long-passphrase-77"


def test_reset_a_forgotten_password_in_the_browser(page, make_user, outboxes, settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 20_000
    phone_dir, _mail_dir = outboxes
    user = make_user("rita")
    AuthenticationPhone.objects.create(
        user=user, number="+447400123456", verified_at=timezone.now()
    )
    page.goto("/passwordreset/")
    page.get_by_label("Username").fill("rita")
    # The widget solves the challenge by itself and puts the solution in the form.
    page.wait_for_function(
        "() => { const f = document.querySelector('input[name=altcha]');"
        " return f && f.value.length > 20; }",
        timeout=30000,
    )
    # What is needed is asked on the same page, the reset chosen to begin with.
    assert page.get_by_label("I forgot my password").is_checked()
    check_accessibility(page, "20-reset-start")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Prove it is you").wait_for()
    check_accessibility(page, "22-reset-methods")
    # The phone's card asks for the number on the methods page itself.
    card = page.get_by_role("form", name="Authentication phone")
    card.get_by_label("Phone number").fill("+44 7400 123456")
    check_accessibility(page, "23-reset-phone")
    card.get_by_role("button", name=re.compile("Send the code")).click()
    page.get_by_label("Verification code").fill(latest_phone_code(phone_dir))
    check_accessibility(page, "24-reset-code")
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Choose a new password").wait_for()
    check_accessibility(page, "25-reset-new-password")
    assert page.get_by_text("For the account").is_visible()
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    # The server's estimate appears as the person types; the reveal button shows the text.
    page.get_by_text(re.compile(r"Strength: (Strong|Very strong)")).wait_for()
    # Each button names, to a screen reader, the field it shows.
    reveal = page.get_by_role("button", name="Show password (New password)")
    assert reveal.get_attribute("aria-controls") == "id_new_password1"
    page.get_by_role("button", name="Show password (New password confirmation)").wait_for()
    reveal.click()
    assert page.locator("#id_new_password1").get_attribute("type") == "text"
    hide = page.get_by_role("button", name="Hide password (New password)")
    assert hide.get_attribute("aria-pressed") == "true"
    check_accessibility(page, "25b-reset-new-password-typed")
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    page.get_by_role("heading", name="Your password is changed").wait_for()
    check_accessibility(page, "26-reset-done")
    assert get_user_model().objects.get(username="rita").check_password(NEW_PASSWORD)


def test_without_javascript_a_person_resets_with_their_phone(
    browser, live_server, make_user, outboxes
):
    """JavaScript turned off: the page says the check cannot run and that a few resets an hour
    can start without it; then the whole reset goes through with plain forms."""
    phone_dir, _mail_dir = outboxes
    user = make_user("rita")
    AuthenticationPhone.objects.create(
        user=user, number="+447400123456", verified_at=timezone.now()
    )
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/passwordreset/")
    # (Text inside <noscript> is not searched by text, so the paragraph is found by its class.)
    said = page.locator(".captcha p.message")
    assert said.is_visible() and said.inner_text().startswith("Without JavaScript this check")
    page.get_by_label("Username").fill("rita")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Prove it is you").wait_for()
    card = page.get_by_role("form", name="Authentication phone")
    card.get_by_label("Phone number").fill("+44 7400 123456")
    card.get_by_role("button", name=re.compile("Send the code")).click()
    page.get_by_label("Verification code").fill(latest_phone_code(phone_dir))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Choose a new password").wait_for()
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    page.get_by_role("heading", name="Your password is changed").wait_for()
    # axe-core needs JavaScript in the page: a screenshot only.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "26b-reset-done-without-javascript.png"), full_page=True)
    context.close()
    assert get_user_model().objects.get(username="rita").check_password(NEW_PASSWORD)


@pytest.mark.parametrize(("language", "width"), [("de", 390), ("en", 390), ("de", 1280)])
def test_every_reset_step_in_both_languages_and_at_phone_width(
    browser, live_server, make_user, outboxes, settings, language, width
):
    """The same walk as above, by position rather than by English names, swept by axe."""
    from tests.support.browser import fits_without_horizontal_scroll

    settings.SSPR_CAPTCHA_DIFFICULTY = 20_000
    phone_dir, _mail_dir = outboxes
    user = make_user("rita")
    AuthenticationPhone.objects.create(
        user=user, number="+447400123456", verified_at=timezone.now()
    )
    context = browser.new_context(
        base_url=live_server.url,
        extra_http_headers={"Accept-Language": language},
        viewport={"width": width, "height": 900},
    )
    page = context.new_page()
    page.set_default_timeout(15000)

    def step(name: str) -> None:
        check_accessibility(page, f"reset-{language}-{width}-{name}")
        assert fits_without_horizontal_scroll(page), (language, width, name)

    def submit() -> None:
        page.locator("main form.stack button[type=submit]").first.click()

    page.goto("/passwordreset/")
    page.locator("#id_username").fill("rita")
    page.wait_for_function(
        "() => { const f = document.querySelector('input[name=altcha]');"
        " return f && f.value.length > 20; }",
        timeout=30000,
    )
    page.locator("input[value=reset]").check()
    step("1-start")
    submit()
    page.wait_for_url("**/passwordreset/methods/")
    step("3-methods")
    page.goto("/passwordreset/phone/")
    page.locator("#id_number").fill("+44 7400 123456")
    step("4-phone")
    sent_before = message_count(phone_dir)
    submit()
    page.wait_for_url("**/passwordreset/phone/code/")
    page.locator("#id_code").fill(latest_phone_code(phone_dir, more_than=sent_before))
    step("5-code")
    submit()
    page.wait_for_url("**/passwordreset/finish/")
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#password-strength[data-score]").wait_for()
    step("6-new-password")
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    submit()
    page.wait_for_url("**/passwordreset/done/")
    step("7-done")
    assert get_user_model().objects.get(username="rita").check_password(NEW_PASSWORD)
    context.close()
