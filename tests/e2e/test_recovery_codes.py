"""Recovery codes in Chromium, in English and German, at desktop and phone width: made at
/ssprsetup (shown once, downloaded as text, copied), then one used at /passwordreset; and
made with JavaScript off. Every page is checked with axe."""

from __future__ import annotations

import pytest

from methods.recovery_codes.models import RecoveryCode
from policy.models import Policy
from tests.support.browser import check_accessibility, fits_without_horizontal_scroll, sign_in

from .test_new_methods import start_reset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETUP = "/ssprsetup/recovery-codes/"


@pytest.fixture
def context_for(browser, live_server, outboxes, approved_questions, settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 20_000
    policy = Policy.load()
    policy.set_option("recovery_codes", "enabled", True)
    policy.save()
    contexts = []

    def make(language: str, width: int, *, javascript: bool = True):
        context = browser.new_context(
            base_url=live_server.url,
            extra_http_headers={"Accept-Language": language},
            viewport={"width": width, "height": 900},
            java_script_enabled=javascript,
            accept_downloads=True,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield make
    for context in contexts:
        context.close()


def make_codes(page, name: str, *, javascript: bool = True) -> list[str]:
    page.locator(f"a[href='{SETUP}']").first.click()
    page.wait_for_url(f"**{SETUP}")
    if javascript:  # axe runs in the page: only where scripts run
        check_accessibility(page, f"{name}-codes-setup")
        assert fits_without_horizontal_scroll(page)
    page.locator("main form button[type=submit]").click()
    page.locator("#recovery-codes").wait_for()
    if javascript:
        check_accessibility(page, f"{name}-codes-shown")
        assert fits_without_horizontal_scroll(page)
    return page.locator("#recovery-codes code").all_inner_texts()


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("de", 390)])
def test_make_recovery_codes_then_reset_with_one(context_for, make_user, language, width):
    user = make_user("rita")
    page = context_for(language, width)
    name = f"codes-{language}-{width}"
    sign_in(page, "rita")
    shown = make_codes(page, name)
    assert len(shown) == 10 and RecoveryCode.objects.filter(user=user).count() == 10

    # The download is the same list, as a text file.
    with page.expect_download() as download:
        page.locator("a[download='recovery-codes.txt']").click()
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: PTH123, SIM115
    assert all(code in text for code in shown)
    # With JavaScript, Copy and Print are offered; Copy says what happened.
    assert page.locator("[data-print-page]").is_visible()
    page.locator("[data-copy-codes]").click()
    page.wait_for_function("() => document.getElementById('copy-status').textContent.length > 0")

    page.locator("main a.button.primary").click()
    page.wait_for_url("**/ssprsetup/")
    check_accessibility(page, f"{name}-overview-with-codes")
    page.context.clear_cookies()

    start_reset(page, "rita")
    page.locator("a[href='/passwordreset/recovery-codes/']").click()
    check_accessibility(page, f"{name}-reset-code")
    assert fits_without_horizontal_scroll(page)
    page.locator("#id_proof").fill("not-a-code")
    page.locator("main form.stack button[type=submit]").click()
    check_accessibility(page, f"{name}-reset-code-error")
    assert page.locator("#id_proof_error").is_visible()
    page.locator("#id_proof").fill(shown[3])
    page.locator("main form.stack button[type=submit]").click()
    page.wait_for_url("**/passwordreset/finish/")
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=False).count() == 1


def test_recovery_codes_are_made_without_javascript(context_for, make_user):
    user = make_user("rita")
    page = context_for("en", 1280, javascript=False)
    sign_in(page, "rita")
    shown = make_codes(page, "codes-nojs", javascript=False)
    assert len(shown) == 10 and RecoveryCode.objects.filter(user=user).count() == 10
    # Copy needs a script and stays hidden; the download and the browser's Print remain.
    assert not page.locator("[data-copy-codes]").is_visible()
    assert page.locator("a[download='recovery-codes.txt']").is_visible()
    # A second set replaces the first, and the page said it would.
    page.goto(SETUP)
    assert "10" in page.locator("#codes-left").inner_text()
    assert page.locator("#replace-note").is_visible()
    page.locator("main form button[type=submit]").click()
    page.locator("#recovery-codes").wait_for()
    assert not set(shown) & set(page.locator("#recovery-codes code").all_inner_texts())


def test_leaving_the_codes_unsaved_asks_first(context_for, make_user):
    """The codes are shown once: changing the language (or following any link) before they
    were saved asks whether to leave; staying keeps them on the page. Once saved, nothing asks."""
    make_user("rita")
    page = context_for("en", 1280)
    sign_in(page, "rita")
    shown = make_codes(page, "codes-leave")
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.dismiss()  # stay

    page.on("dialog", answer)
    page.locator("#recovery-codes").click()  # the person has been on the page
    page.locator("footer select[name=language]").select_option("de")
    page.locator("footer form.language button[type=submit]").click()
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert page.locator("#recovery-codes code").all_inner_texts() == shown
    page.locator("main a.button.primary").click()
    page.wait_for_url("**/ssprsetup/")
    assert asked == ["beforeunload"]
