"""A temporary access pass in Chromium: a helpdesk agent issues one, the person signs in with
it, registers an email, sets a new password without the old one, and the pass is refused
afterwards. Every page passes axe at 1280 and 390 pixels."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.support.access_passes import approvers_group, helpdesk_group
from tests.support.browser import check_accessibility, fits_without_horizontal_scroll
from tests.support.codes import latest_email_code
from tests.support.people import past_sign_in_check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Lighthouse-copper-kettle-2027"
WIDTHS = (1280, 390)


def check_both_widths(page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        check_accessibility(page, f"{name}-{width}")
        assert fits_without_horizontal_scroll(page), (name, width)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def signed_in_page(browser, live_server, user):
    """A browser page with `user` signed in (the sign-in itself is tested elsewhere)."""
    client = past_sign_in_check(Client(), user)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": WIDTHS[0], "height": 900}
    )
    context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": live_server.url}
            for name, morsel in client.cookies.items()
        ]
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def test_a_pass_from_the_helpdesk_to_a_new_password(
    browser, live_server, make_user, outboxes, approved_questions
):
    _phone_dir, mail_dir = outboxes
    agent = make_user("agent", password=None)
    agent.groups.add(helpdesk_group())
    person = make_user("nina")

    desk = signed_in_page(browser, live_server, agent)
    desk.goto(f"/helpdesk/users/{person.pk}/")
    desk.get_by_role("link", name="Issue a temporary access pass").click()
    desk.get_by_role("heading", name="Temporary access pass for nina").wait_for()
    # Nothing chosen: the errors are next to the fields, and nothing is issued.
    desk.get_by_role("button", name="Issue the pass").click()
    desk.get_by_text("Choose how you verified the person.").first.wait_for()
    check_both_widths(desk, "40-pass-issue-errors")
    desk.get_by_label("Identity checked in person").check()
    desk.get_by_label("Note").fill("Saw her passport at the front desk")
    desk.get_by_role("button", name="Issue the pass").click()
    shown = desk.locator("#access-pass code")
    shown.wait_for()
    value = shown.inner_text().strip()
    check_both_widths(desk, "41-pass-shown")
    desk.context.close()

    context = browser.new_context(
        base_url=live_server.url, viewport={"width": WIDTHS[0], "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto("/ssprsetup/pass/")
    check_both_widths(page, "42-pass-sign-in")
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Temporary access pass").fill(value)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Signed in with a temporary access pass").wait_for()
    check_both_widths(page, "43-pass-welcome")

    page.get_by_role("link", name="Register your recovery methods").click()
    page.get_by_role("link", name="Set up Authentication email").click()
    page.get_by_label("Email address").fill("nina.home@example.net")
    page.get_by_role("button", name="Send the code").click()
    page.get_by_label("Verification code").fill(latest_email_code(mail_dir))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("status").get_by_text("Authentication email verified").wait_for()

    page.get_by_role("link", name="Change your password").click()
    page.get_by_role("heading", name="Set a new password").wait_for()
    check_both_widths(page, "44-pass-new-password")
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    page.get_by_role("status").get_by_text("Your new password is set").wait_for()
    assert get_user_model().objects.get(username="nina").check_password(NEW_PASSWORD)

    page.get_by_role("button", name="Sign out").click()
    page.goto("/ssprsetup/pass/")
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Temporary access pass").fill(value)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").get_by_text(
        "The username or the temporary access pass is not right"
    ).wait_for()
    check_both_widths(page, "45-pass-refused")
    context.close()


def test_the_approval_pages_pass_axe(browser, live_server, make_user, outboxes):
    agent = make_user("agent", password=None)
    agent.groups.add(helpdesk_group())
    boss = make_user("boss", password=None)
    boss.groups.add(approvers_group())
    admin_person = make_user("ada", staff=True)

    desk = signed_in_page(browser, live_server, agent)
    desk.goto(f"/helpdesk/pass/users/{admin_person.pk}/")
    desk.get_by_label("Identity checked in person").check()
    desk.get_by_label("Note").fill("Known voice; checked the employee number")
    desk.get_by_role("button", name="Ask for approval").click()
    desk.get_by_text("Waiting for a Helpdesk administrator").wait_for()
    check_both_widths(desk, "46-pass-waiting")
    request_path = desk.url.split(live_server.url, 1)[1]

    approver = signed_in_page(browser, live_server, boss)
    approver.goto("/helpdesk/pass/approvals/")
    check_both_widths(approver, "47-pass-approvals")
    approver.get_by_role("link", name="ada").click()
    approver.get_by_role("button", name="Approve").click()
    approver.get_by_text("Approved by boss").wait_for()
    check_both_widths(approver, "48-pass-approved")

    desk.goto(request_path)
    desk.get_by_role("button", name="Show the pass once").click()
    desk.locator("#access-pass code").wait_for()
    approver.context.close()
    desk.context.close()
