"""In Chromium: an administrator account is not told it is covered when it is not. With an
email and security questions only, its pages say the questions do not count and that one more
method is needed, never that it can reset (methods.reset_rule; docs/security.md §14)."""

from __future__ import annotations

import pytest

from registration.models import Registration
from tests.support.browser import check_accessibility
from tests.support.codes import latest_email_code
from tests.support.people import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

ANSWERS = ["Blue whale", "Lisbon harbour", "Mrs Okafor"]


def test_an_administrators_overview_never_promises_a_reset_with_email_and_questions(
    page, make_user, outboxes
):
    _phone_dir, mail_dir = outboxes
    ken = make_user("ken", staff=True)
    page.goto("/ssprsetup/signin/")
    page.get_by_label("Username").fill(ken.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Your recovery methods").wait_for()

    page.get_by_role("link", name="Set up Authentication email").click()
    page.get_by_label("Email address").fill("ken.home@example.net")
    page.get_by_role("button", name="Send the code").click()
    page.get_by_label("Verification code").fill(latest_email_code(mail_dir))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("status").get_by_text("Authentication email verified").wait_for()

    page.get_by_role("link", name="Set up Security questions").click()
    hint = page.locator("#still-needed")
    assert "this one does not count" in hint.inner_text()
    assert "this one counts" not in hint.inner_text()
    check_accessibility(page, "staff-questions")
    for index, answer in enumerate(ANSWERS, start=1):
        page.locator(f"#id_question_{index}").select_option(index=index)
        page.locator(f"#id_answer_{index}").fill(answer)
    page.get_by_role("button", name="Save answers").click()
    page.get_by_role("status").get_by_text("Your security questions are saved").wait_for()
    check_accessibility(page, "staff-overview-email-and-questions")

    body = page.locator("main").inner_text()
    assert "1 of 2 required methods verified" in body
    assert "Your security questions do not count" in body
    assert "You are registered" not in page.get_by_role("heading").all_inner_texts()
    assert "can reset your password yourself." not in body  # the message when covered
    assert "count only together with another method" not in body
    assert page.get_by_role("button", name="Finish").count() == 0
    assert page.get_by_role("button", name="Done").count() == 0
    assert not Registration.objects.filter(user=ken, completed_at__isnull=False).exists()
