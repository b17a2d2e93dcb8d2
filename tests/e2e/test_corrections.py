"""A typo corrected right after a code was sent: what the pages say is what gets stored."""

from __future__ import annotations

import pytest

from methods.models import AuthenticationPhone
from tests.support.browser import check_accessibility, fits_without_horizontal_scroll
from tests.support.codes import latest_phone_code, phone_messages
from tests.support.people import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _send_a_first_code(page, user, number: str) -> None:
    """Signed in, the phone's page, `number` sent: the code page."""
    page.goto("/ssprsetup/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Set up Authentication phone").click()
    page.get_by_label("Country or region").select_option("GB")
    page.get_by_label("Phone number").fill(number)
    page.get_by_role("button", name="Send the code").click()
    page.get_by_role("heading", name="Enter the code").wait_for()


def test_correcting_the_number_within_the_cooldown_in_the_browser(page, user, outboxes):
    phone_dir, _mail_dir = outboxes
    _send_a_first_code(page, user, "07400 123456")
    first_code = latest_phone_code(phone_dir)

    # The person notices the typo and corrects one digit at once.
    page.get_by_role("link", name="Enter your number").click()
    page.get_by_label("Phone number").fill("07400 123457")
    page.get_by_role("button", name="Send the code").click()
    # A correction is not a resend: the corrected number's code goes at once.
    page.get_by_role("heading", name="Enter the code").wait_for()
    page.get_by_text("+44 7400 123457").first.wait_for()
    page.get_by_text("You can ask for a new code in").wait_for()
    assert len(phone_messages(phone_dir, 2)) == 2
    code = latest_phone_code(phone_dir)
    assert code != first_code or len(phone_messages(phone_dir, 2)) == 2
    check_accessibility(page, "corrections-01-code-for-the-corrected-number")
    page.set_viewport_size({"width": 390, "height": 844})
    assert fits_without_horizontal_scroll(page)
    page.screenshot(path=str(page_path("corrections-01-corrected-phone")), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("status").get_by_text("+44 7400 123457").wait_for()
    assert str(AuthenticationPhone.objects.get(user=user).number) == "+447400123457"


def page_path(name: str):
    from tests.support.browser import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_a_code_page_answered_again_at_its_own_address_reloads_without_sending_it_again(
    page, user, outboxes
):
    """A wrong code answers with the code page at the same address: a reload (or coming back
    to it) opens the page, and does not send the code form again (static/js/page-address.js)."""
    phone_dir, _mail_dir = outboxes
    _send_a_first_code(page, user, "07400 123456")
    code = latest_phone_code(phone_dir)
    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label("Verification code").fill(wrong)
    page.get_by_role("button", name="Verify").click()
    page.get_by_text("That code is not right").first.wait_for()
    page.wait_for_load_state("load")  # its scripts have run, as before anyone reloads
    assert page.url.endswith("/ssprsetup/phone/verify/")

    sent = []
    page.on("request", lambda request: sent.append((request.method, request.url)))
    page.reload()
    page.get_by_role("heading", name="Enter the code").wait_for()
    mine = [(method, url) for method, url in sent if url.endswith("/ssprsetup/phone/verify/")]
    assert mine == [("GET", mine[0][1])], sent
    assert not page.get_by_text("That code is not right").count()
