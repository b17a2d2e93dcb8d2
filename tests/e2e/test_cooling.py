"""Cooling-off in Chromium (README, "Proof before change"; methods/cooling.py): someone with
Rita's password and a code replaces her phone with theirs; her page says the new phone counts
for a reset only from tomorrow, and at /passwordreset the new phone alone does not lead to a
new password. English at desktop width, German at phone width; axe on each page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from methods.models import AuthenticationPhone, MethodChange
from tests.support.browser import (
    check_accessibility,
    fits_without_horizontal_scroll,
    prove_if_asked,
)
from tests.support.codes import latest_phone_code, message_count

from .test_not_me import sign_in
from .test_wcag22 import _start_reset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NUMBER = "+447400123456"
THIEF = "+447400999999"


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("de", 390)])
def test_a_thiefs_new_phone_cannot_reset_alone_and_her_page_says_until_when(
    context_for, make_user, outboxes, settings, language, width
):
    phone_dir, _mail_dir = outboxes
    rita = make_user("rita")
    AuthenticationPhone.objects.create(user=rita, number=NUMBER, verified_at=timezone.now())

    thief = context_for(language, width)
    sign_in(thief, "rita")
    thief.goto("/ssprsetup/phone/")
    prove_if_asked(thief, lambda: latest_phone_code(phone_dir))
    thief.locator("#id_number").fill(THIEF)
    thief.locator("form.stack button[type=submit]").click()
    thief.locator("#id_code").wait_for()  # the code page, in the same response
    thief.locator("#id_code").fill(latest_phone_code(phone_dir))
    thief.locator("form.stack button[type=submit]").click()
    thief.wait_for_url("**/ssprsetup/")
    assert MethodChange.objects.get(user=rita, method="authentication_phone").cooling_until

    # Her page: the phone is new, and a reset waits until the cooling-off ends.
    panel = thief.locator(".panel-warning[role=status]")
    assert panel.count() == 1
    if language == "en":
        assert "Your methods are new" in panel.inner_text()
        assert "New: until" in thief.locator(".card").first.inner_text()
    check_accessibility(thief, f"cooling-{language}-{width}-overview")
    assert fits_without_horizontal_scroll(thief)

    # The portal: the new phone passes, but alone it is not enough.
    portal = context_for(language, width)
    _start_reset(portal, settings)
    # The phone's card asks for the number on the methods page itself.
    card = portal.locator("form[action='/passwordreset/phone/']")
    card.locator("input[name=number]").fill(THIEF)
    sent_before = message_count(phone_dir)
    card.locator("button[type=submit]").click()
    portal.wait_for_url("**/passwordreset/phone/code/")
    portal.locator("#id_code").fill(latest_phone_code(phone_dir, more_than=sent_before))
    portal.locator("form.stack button[type=submit]").click()
    portal.wait_for_url("**/passwordreset/methods/")
    check_accessibility(portal, f"cooling-{language}-{width}-portal")
    portal.goto("/passwordreset/finish/")
    portal.wait_for_url("**/passwordreset/methods/")
    assert portal.locator("#id_new_password1").count() == 0
