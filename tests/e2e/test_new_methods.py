"""The authenticator app and a passkey in Chromium, in English and German, at desktop and
phone width: set up from /ssprsetup, then used at /passwordreset. The passkey is made by
Chromium's virtual authenticator (the DevTools protocol's WebAuthn domain), so the page's own
script and the browser's WebAuthn do the work a phone or a security key would."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from methods.passkey.models import Passkey
from tests.site.test_demo_address import settings_under
from tests.support.browser import check_accessibility, fits_without_horizontal_scroll, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def context_for(browser, live_server, outboxes, approved_questions, settings):
    # As `make run` starts the site: SSPR_SITE_URL=http://localhost:PORT, and the passkey
    # domain and origin as the settings module derives them from it.
    site = live_server.url.replace("127.0.0.1", "localhost")
    settings.SSPR_SITE_URL, settings.SSPR_WEBAUTHN_RP_ID, settings.SSPR_WEBAUTHN_ORIGINS = (
        settings_under({"SSPR_SITE_URL": site})
    )
    assert settings.SSPR_WEBAUTHN_RP_ID == "localhost"
    settings.SSPR_CAPTCHA_DIFFICULTY = 20_000
    contexts = []

    def make(language: str, width: int, base_url: str = site):
        context = browser.new_context(
            base_url=base_url,
            extra_http_headers={"Accept-Language": language},
            viewport={"width": width, "height": 900},
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        authenticator = context.new_cdp_session(page)
        authenticator.send("WebAuthn.enable")
        authenticator.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        return page

    yield make
    for context in contexts:
        context.close()


def code_from_page(page, *, steps: int = 0) -> str:
    grouped = page.locator(".setup-key").inner_text().replace(" ", "")
    key = base64.b32decode(grouped + "=" * (-len(grouped) % 8))
    return f"{totp(key, t0=0, step=30, digits=6, drift=steps):06d}"


def start_reset(page, username: str) -> None:
    page.goto("/passwordreset/")
    page.locator("#id_username").fill(username)
    page.wait_for_function(
        "() => { const f = document.querySelector('input[name=altcha]');"
        " return f && f.value.length > 20; }",
        timeout=30000,
    )
    page.locator("input[name=action][value=reset]").check()
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/passwordreset/methods/")


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("de", 390)])
def test_set_up_and_reset_with_an_authenticator_app_and_a_passkey(
    context_for, make_user, language, width
):
    user = make_user("rita")
    page = context_for(language, width)
    name = f"new-{language}-{width}"
    sign_in(page, "rita")

    page.locator("a[href='/ssprsetup/authenticator/']").click()
    page.locator("figure.qr svg").wait_for()
    # Setting the app up, its instructions come before the field: the focus is not moved past.
    assert page.evaluate("document.activeElement.id") != "id_code"
    check_accessibility(page, f"{name}-app-setup")
    assert fits_without_horizontal_scroll(page)
    key_code = code_from_page(page, steps=1)  # the next code: the reset below must not replay
    page.locator("#id_code").fill(code_from_page(page))
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/")
    assert TOTPDevice.objects.get(user=user).confirmed

    page.locator("a[href='/ssprsetup/passkey/']").click()
    check_accessibility(page, f"{name}-passkey-setup")
    assert fits_without_horizontal_scroll(page)
    page.locator("#id_name").fill("Laptop")
    page.locator("#passkey-form button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/")
    assert Passkey.objects.get(user=user).name == "Laptop"
    check_accessibility(page, f"{name}-overview-with-both")
    assert page.locator(".card.state-verified").count() == 2
    page.context.clear_cookies()

    # Reset with the passkey: Chromium's authenticator signs, the page sends the answer.
    start_reset(page, "rita")
    check_accessibility(page, f"{name}-reset-methods")
    page.locator("a[href='/passwordreset/passkey/']").click()
    check_accessibility(page, f"{name}-reset-passkey")
    page.locator("#passkey-form button[type=submit]").click()
    page.wait_for_url("**/passwordreset/finish/")
    assert Passkey.objects.get(user=user).last_used_at is not None
    page.context.clear_cookies()

    # Reset with the app.
    start_reset(page, "rita")
    page.locator("a[href='/passwordreset/authenticator/']").click()
    check_accessibility(page, f"{name}-reset-app")
    assert fits_without_horizontal_scroll(page)
    page.locator("#id_code").fill(key_code)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/passwordreset/finish/")


def test_adding_a_key_the_device_already_holds_says_so(context_for, make_user):
    """The page lists the person's keys for the browser not to make again; the device that
    holds one refuses, and the page says why, not "did not answer, or you cancelled"."""
    user = make_user("rita")
    page = context_for("en", 1280)
    sign_in(page, "rita")
    page.goto("/ssprsetup/passkey/")
    page.locator("#id_name").fill("Laptop")
    page.locator("#passkey-form button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/")
    page.goto("/ssprsetup/passkey/")
    page.locator("#id_name").fill("Laptop again")
    page.locator("#passkey-form button[type=submit]").click()
    status = page.locator("#passkey-status")
    status.wait_for(state="visible")
    assert "already holds a passkey for your account" in status.inner_text()
    assert list(Passkey.objects.filter(user=user).values_list("name", flat=True)) == ["Laptop"]
    # A name already taken is sent without asking the key, and named next to its field.
    page.goto("/ssprsetup/passkey/")
    page.locator("#id_name").fill("laptop")
    page.locator("#passkey-form button[type=submit]").click()
    page.locator("#id_name[aria-invalid=true]").wait_for()
    assert "You already have a key named “laptop”" in page.content()
    # Another name on the same device: only the device's refusal shows, and takes the focus.
    page.locator("#id_name").fill("Desk")
    page.locator("#passkey-form button[type=submit]").click()
    status.wait_for(state="visible")
    assert "already holds a passkey" in status.inner_text()
    assert not page.locator("#error-summary").is_visible()
    assert page.locator("#id_name").get_attribute("aria-invalid") is None
    assert status.evaluate("el => el === document.activeElement")


def test_on_an_ip_address_the_passkey_page_says_it_is_not_set_up_there(
    context_for, live_server, make_user
):
    """The README's old demo address: the page says why, before and after the browser refuses."""
    make_user("rita")
    address = live_server.url.replace("localhost", "127.0.0.1")  # http://127.0.0.1:PORT
    page = context_for("en", 1280, base_url=address)
    sign_in(page, "rita")
    page.goto("/ssprsetup/passkey/")
    message = "This site is not set up for passkeys on this address"
    assert message in page.locator("#passkey-wrong-address").inner_text()
    page.locator("#id_name").fill("Laptop")
    page.locator("#passkey-form button[type=submit]").click()
    status = page.locator("#passkey-status")
    status.wait_for()
    assert message in status.inner_text()
    assert not Passkey.objects.exists()


def test_without_javascript_the_passkey_pages_explain_and_save_nothing(
    browser, live_server, make_user, approved_questions
):
    make_user("rita")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "rita")
    page.goto("/ssprsetup/passkey/")
    assert "needs JavaScript" in page.locator("main").inner_text()
    page.locator("#id_name").fill("Laptop")
    page.locator("#passkey-form button[type=submit]").click()
    assert "needs JavaScript" in page.locator(".error-summary").inner_text()
    assert not Passkey.objects.exists()
    context.close()
