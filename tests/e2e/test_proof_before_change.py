"""Proof before change in Chromium (README, "Proof before change"; methods/proof.py), in
English at desktop width and German at phone width: a person registered earlier signs in with
their password only and is asked to confirm it is them, with one of their own methods on the
reset portal's pages, before adding or removing a method; with the mouse and with the keyboard.

The new page's German text may not be translated yet: in German the tests hold its structure
(heading, links, where they lead), and its English words only in the English run."""

from __future__ import annotations

import pytest
from django.utils import timezone

from methods.authenticator.models import AuthenticatorDevice
from methods.models import AuthenticationEmail, AuthenticationPhone
from tests.support.browser import check_accessibility, fits_without_horizontal_scroll, sign_in
from tests.support.codes import latest_email_code, latest_phone_code, message_count

from .test_registration import press_enter_and_wait, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NUMBER = "+447400123456"
MASKED = "+44 ••••••••56"  # methods/masking.py, mask_phone
PROVE = "/passwordreset/methods/"  # where /passwordreset/prove/ sends the person
LANGUAGES = pytest.mark.parametrize(("language", "width"), [("en", 1280), ("de", 390)])


@pytest.fixture
def rita(make_user):
    """Registered earlier, another day: a verified phone, which proves who she is."""
    user = make_user("rita")
    AuthenticationPhone.objects.create(user=user, number=NUMBER, verified_at=timezone.now())
    return user


def on_the_prove_page(page, language: str, name: str) -> None:
    """The "Confirm it is you" page, checked with axe and for width."""
    page.wait_for_url(f"**{PROVE}")
    heading = page.locator("main h1")
    assert heading.count() == 1 and heading.inner_text().strip()
    if language == "en":
        assert heading.inner_text() == "Confirm it is you"
    check_accessibility(page, name)
    assert fits_without_horizontal_scroll(page), name


@LANGUAGES
def test_a_password_alone_leads_to_the_proof_then_the_phone_lets_her_add_an_email(
    context_for, rita, outboxes, language, width
):
    phone_dir, mail_dir = outboxes
    name = f"proof-{language}-{width}"
    page = context_for(language, width)
    sign_in(page, "rita")

    page.locator("main a[href='/ssprsetup/email/']").click()
    on_the_prove_page(page, language, f"{name}-prove")
    # Not the email form: her own phone, masked, and a way to use it.
    assert page.locator("#id_email").count() == 0
    (card,) = page.locator("main ul.cards li.card").all()
    assert card.locator(".value").inner_text() == MASKED
    assert NUMBER not in page.content() and "7400 123456" not in page.content()
    if language == "en":
        assert card.locator("h2").inner_text() == "Authentication phone"
        # One method: "it", not "all of them".
        page.get_by_text("Lost access to it?").wait_for()
    assert not AuthenticationEmail.objects.exists()

    # The card asks for the whole number, and the reset portal's code page proves it.
    card.locator("input[name=number]").fill("+44 7400 123456")
    sent_before = message_count(phone_dir)
    card.locator("button[type=submit]").click()
    page.wait_for_url("**/passwordreset/phone/code/")
    page.locator("#id_code").fill(latest_phone_code(phone_dir, more_than=sent_before))
    page.locator("main form.stack button[type=submit]").first.click()

    # Back where she was going, and the email is added and verified as usual.
    page.wait_for_url("**/ssprsetup/email/")
    if language == "en":
        page.get_by_role("status").get_by_text("You can change your security info").wait_for()
    check_accessibility(page, f"{name}-email-after-proof")
    page.locator("#id_email").fill("rita.home@example.net")
    page.locator("main form.stack button[type=submit]").first.click()
    page.locator("#id_code").fill(latest_email_code(mail_dir))
    page.locator("main form.stack button[type=submit]").first.click()
    page.wait_for_url("**/ssprsetup/")
    email_card = page.locator(
        "main li.card.state-verified", has=page.locator("a[href='/ssprsetup/email/']")
    )
    assert email_card.locator(".value").inner_text().endswith("@example.net")
    if language == "en":
        page.get_by_role("status").get_by_text("Authentication email verified").wait_for()
    check_accessibility(page, f"{name}-overview-with-email")
    assert AuthenticationEmail.objects.get(user=rita).verified_at


@LANGUAGES
def test_removing_the_phone_needs_the_proof_and_cancel_keeps_it(context_for, rita, language, width):
    name = f"proof-remove-{language}-{width}"
    page = context_for(language, width)
    sign_in(page, "rita")

    page.locator("main a[href='/ssprsetup/phone/remove/']").click()
    on_the_prove_page(page, language, f"{name}-prove")
    assert page.locator("main button.danger").count() == 0  # no Remove button to press here
    cancel = page.locator("main a[href='/ssprsetup/']")
    if language == "en":
        assert cancel.inner_text() == "Cancel and go back to your security info"
    cancel.click()
    page.wait_for_url("**/ssprsetup/")
    phone_card = page.locator(
        "main li.card.state-verified", has=page.locator("a[href='/ssprsetup/phone/']")
    )
    assert phone_card.locator(".value").inner_text() == MASKED

    # The remove page opened by its address asks for the proof as well.
    page.goto("/ssprsetup/phone/remove/")
    page.wait_for_url(f"**{PROVE}")
    assert AuthenticationPhone.objects.get(user=rita).number == NUMBER


@LANGUAGES
def test_the_proof_page_works_with_the_keyboard_strongest_method_first(
    context_for, rita, language, width
):
    # With an authenticator app as well, the app is offered first (methods/proof.py).
    AuthenticatorDevice.objects.create(user=rita, name="app", confirmed=True)
    page = context_for(language, width)
    sign_in(page, "rita")
    page.goto("/ssprsetup/email/")
    on_the_prove_page(page, language, f"proof-keyboard-{language}-{width}-prove")
    # The app's card links to its page; the phone's asks for the number on the card.
    cards = page.locator("main ul.cards li.card")
    assert cards.count() == 2
    assert cards.nth(0).locator("a.button").get_attribute("href") == (
        "/passwordreset/authenticator/"
    )
    assert cards.nth(1).locator("form").get_attribute("action") == "/passwordreset/phone/"
    if language == "en":
        page.get_by_text("Lost access to all of them?").wait_for()
    tab_to(page, "main ul.cards li:first-child a.button")
    press_enter_and_wait(page)
    assert page.url.endswith("/passwordreset/authenticator/")
    assert page.locator("#id_code").count() == 1
