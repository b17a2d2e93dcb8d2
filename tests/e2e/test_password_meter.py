"""The strength meter in Chromium: it says what the server's rules say, as the person types. A
password the form would refuse is shown as not accepted, with the reason, never as strong."""

from __future__ import annotations

import pytest

from tests.support.browser import check_accessibility
from tests.support.people import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_meter_refuses_what_the_form_refuses_and_praises_only_what_it_accepts(page, make_user):
    make_user("rita")
    page.goto("/ssprsetup/signin/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Your recovery methods").wait_for()
    page.goto("/ssprsetup/password/")
    meter = page.locator("#password-strength")

    # Long and uncommon, so zxcvbn alone calls it strong; but it holds the person's name.
    page.locator("#id_new_password1").fill("Rita-lantern-violin-quartz-harbour")
    page.locator("#password-strength[data-score=refused]").wait_for()
    assert meter.inner_text() == "Not accepted: contains your username or your name"
    # Under the field it judges, and describing it to a screen reader.
    first = page.locator("#id_new_password1")
    assert "password-strength" in first.get_attribute("aria-describedby").split()
    assert page.locator(".field:has(#id_new_password1) #password-strength").count() == 1
    check_accessibility(page, "meter-refused")

    page.locator("#id_new_password1").fill("quartz-lantern-violin-harbour")
    page.wait_for_function(
        "() => document.querySelector('#password-strength').textContent.startsWith('Strength:')"
    )
    assert meter.inner_text() in ("Strength: Strong", "Strength: Very strong")
    assert meter.get_attribute("data-score") in ("3", "4")
    check_accessibility(page, "meter-strong")
