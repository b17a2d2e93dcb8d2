"""Reconfirmation in Chromium: a flagged user confirms with one button."""

from __future__ import annotations

import pytest
from django.utils import timezone

from methods.models import AuthenticationEmail, AuthenticationPhone
from registration.models import Registration
from tests.support.browser import check_accessibility
from tests.support.people import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_flagged_user_confirms_their_methods(page, make_user, outboxes):
    user = make_user("rita")
    now = timezone.now()
    AuthenticationPhone.objects.create(user=user, number="+447400123456", verified_at=now)
    AuthenticationEmail.objects.create(user=user, email="rita.home@example.net", verified_at=now)
    Registration.objects.create(
        user=user, completed_at=now, last_confirmed_at=now, reconfirmation_required=True
    )
    page.goto("/ssprsetup/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Is this information still correct?").wait_for()
    check_accessibility(page, "10-reconfirm")
    page.get_by_role("button", name="Yes, everything is correct").click()
    page.get_by_role("status").get_by_text("Your methods are confirmed").wait_for()
    registration = Registration.objects.get(user=user)
    assert not registration.reconfirmation_required
    assert registration.last_confirmed_at > now
