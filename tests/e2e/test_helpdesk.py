"""The helpdesk pages in Chromium: readable, accessible, and the caller check."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from methods.models import AuthenticationPhone
from registration.models import Registration
from tests.conftest import PASSWORD

from .conftest import check_accessibility, fits_without_horizontal_scroll, latest_phone_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_helpdesk_reads_status_and_verifies_a_caller(page, make_user, outboxes):
    phone_dir, _mail_dir = outboxes
    agent = make_user("agent")
    agent.groups.add(Group.objects.get_or_create(name="Helpdesk")[0])
    from django.contrib.auth.models import Permission

    agent.user_permissions.add(Permission.objects.get(codename="use_helpdesk"))
    caller = make_user("caller")
    now = timezone.now()
    AuthenticationPhone.objects.create(user=caller, number="+447400123456", verified_at=now)
    Registration.objects.create(user=caller, completed_at=now, last_confirmed_at=now)

    page.goto("/ssprsetup/signin/?next=/helpdesk/")
    page.get_by_label("Username").fill("agent")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Not registered yet: asked to register first, postponed once, then where it was heading.
    page.get_by_role("heading", name="Please register before you continue").wait_for()
    page.get_by_role("button", name="Not now").click()
    page.get_by_role("heading", name="Registration status").wait_for()
    assert page.get_by_text("+44 ••••••••56").is_visible()
    check_accessibility(page, "30-helpdesk-status")
    page.get_by_role("link", name="caller").click()
    page.get_by_role("heading", name="caller").wait_for()
    check_accessibility(page, "31-helpdesk-user")
    page.get_by_role("link", name="Verify a caller").click()
    page.get_by_label("Authentication phone (text message)").check()
    check_accessibility(page, "32-helpdesk-verify")
    page.get_by_role("button", name="Send the code").click()
    page.get_by_label("Verification code").fill(latest_phone_code(phone_dir))
    page.get_by_role("button", name="Check").click()
    page.get_by_role("status").get_by_text("Verified.").wait_for()
    page.goto("/helpdesk/report/?days=30")
    check_accessibility(page, "33-helpdesk-report")
    page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/helpdesk/", "/helpdesk/report/"):
        page.goto(path)
        assert fits_without_horizontal_scroll(page), path
