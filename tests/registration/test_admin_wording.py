"""The admin's words: a duplicate question, counts of one, and whom reminders go to."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.management import call_command

from methods.models import SecurityQuestion
from registration.admin import REMINDER_PAGE_SIZE

pytestmark = pytest.mark.django_db

ADD_QUESTION = "/admin/methods/securityquestion/add/"
REMINDERS = "/admin/auth/user/send-reminders/"


def test_a_question_approved_already_gets_a_sentence(admin_client):
    SecurityQuestion.objects.create(text="Name of your first boat?")
    for text in ("Name of your first boat?", "name of your  FIRST boat?"):
        response = admin_client.post(ADD_QUESTION, {"text": text, "active": "on"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "This question is approved already." in page
        assert "with this Text already exists" not in page
    assert SecurityQuestion.objects.filter(text__icontains="boat").count() == 1


def test_offering_one_question_says_so_in_the_singular(admin_client):
    question = SecurityQuestion.objects.create(text="Name of your first boat?", active=False)
    response = admin_client.post(
        "/admin/methods/securityquestion/",
        {"action": "activate", "_selected_action": [question.pk]},
        follow=True,
    )
    assert "1 question is offered." in response.content.decode()


def test_a_dry_run_for_one_person_reads_as_a_sentence(make_user, policy):
    make_user("fresh")
    out = io.StringIO()
    call_command("send_registration_reminders", "--dry-run", stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip() == "1 person would be reminded. Nothing was sent."


def test_the_reminder_page_lists_whom_it_would_email_masked_and_paged(
    admin_client, make_user, policy
):
    for index in range(REMINDER_PAGE_SIZE + 2):
        make_user(f"person{index:03d}", email=f"person{index:03d}@example.org")
    page = admin_client.get(REMINDERS).content.decode()
    table = page.split('id="reminder-recipients"')[1].split("</table>")[0]
    assert "<td>person000</td>" in table and "<td>p•••@example.org</td>" in table
    assert "Not registered" in table
    assert "person000@example.org" not in page  # masked (docs/security.md §20)
    assert table.count("<tr>") == REMINDER_PAGE_SIZE + 1  # the header and one page
    assert "Page 1 of 2" in page and 'href="?page=2"' in page
    second = admin_client.get(REMINDERS + "?page=2").content.decode()
    rest = second.split('id="reminder-recipients"')[1].split("</table>")[0]
    # 52 people and the administrator signed in to the admin, none registered.
    assert rest.count("<tr>") == 1 + (REMINDER_PAGE_SIZE + 3 - REMINDER_PAGE_SIZE)
    assert "Send 53 reminders" in second
    assert mail.outbox == []
