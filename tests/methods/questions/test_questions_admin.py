"""The approved questions in the admin: words that answers point at, and enough offered for
what the policy asks."""

from __future__ import annotations

import re

import pytest

from methods.models import SecurityAnswer, SecurityQuestion
from policy.models import Policy
from tests.registration.test_admin import policy_form

pytestmark = pytest.mark.django_db

LIST = "/admin/methods/securityquestion/"


def change_url(question) -> str:
    return f"{LIST}{question.pk}/change/"


def offered() -> int:
    return SecurityQuestion.objects.filter(active=True).count()


def test_an_answered_questions_words_cannot_change(admin_client, user, approved_questions):
    question = approved_questions.first()
    SecurityAnswer.objects.create(user=user, question=question, answer_hash="argon2$x")
    text = question.text
    # Said on the page before anything is typed: the words are shown and cannot be edited.
    page = admin_client.get(change_url(question)).content.decode()
    assert "People have answered this question, so its words cannot change" in page
    assert "Stop offering it" in page
    assert re.search(
        r'<textarea[^>]*name="text"[^>]*disabled|<input[^>]*name="text"[^>]*disabled', page
    )
    # Words sent anyway change nothing.
    response = admin_client.post(
        change_url(question), {"text": "What is your favourite colour?", "active": "on"}
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.text == text
    # It can still be retired, as the message says.
    assert admin_client.post(change_url(question), {"text": text}).status_code == 302
    question.refresh_from_db()
    assert not question.active and question.text == text


def test_an_unanswered_questions_words_can_change(admin_client, approved_questions):
    question = SecurityQuestion.objects.create(text="Name of your first boat?")
    response = admin_client.post(
        change_url(question), {"text": "Name of your first canoe?", "active": "on"}
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.text == "Name of your first canoe?"


@pytest.fixture
def just_enough(approved_questions, policy):
    """Exactly as many questions offered as the policy has people answer (3)."""
    keep = list(approved_questions.values_list("pk", flat=True)[:3])
    SecurityQuestion.objects.exclude(pk__in=keep).update(active=False)
    assert Policy.load().option("questions", "count") == 3
    return SecurityQuestion.objects.filter(pk__in=keep)


def test_retiring_one_question_too_many_is_refused_on_its_page(admin_client, just_enough):
    question = just_enough.first()
    response = admin_client.post(change_url(question), {"text": question.text})
    assert response.status_code == 200
    page = response.content.decode()
    assert "The policy has people answer 3 questions, so at least 3 must stay offered" in page
    assert "this would leave 2" in page
    assert offered() == 3


def test_the_stop_offering_action_refuses_to_leave_too_few(admin_client, just_enough):
    everything = list(SecurityQuestion.objects.values_list("pk", flat=True))
    response = admin_client.post(
        LIST, {"action": "deactivate", "_selected_action": everything}, follow=True
    )
    page = response.content.decode()
    assert "so at least 3 must stay offered; this would leave 0. Nothing was changed." in page
    assert offered() == 3
    # Retiring one while offering another first works.
    spare = SecurityQuestion.objects.filter(active=False).first()
    admin_client.post(LIST, {"action": "activate", "_selected_action": [spare.pk]})
    admin_client.post(LIST, {"action": "deactivate", "_selected_action": [just_enough.first().pk]})
    assert offered() == 3


def test_the_lists_active_boxes_refuse_to_leave_too_few(admin_client, just_enough):
    rows = list(SecurityQuestion.objects.order_by("text")[:100])
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, question in enumerate(rows):
        data[f"form-{index}-id"] = str(question.pk)  # every box unticked
    response = admin_client.post(LIST, data)
    assert response.status_code == 200
    assert "so at least 3 must stay offered; this would leave 0" in response.content.decode()
    assert offered() == 3


def test_when_the_policy_does_not_offer_questions_they_can_all_be_retired(
    admin_client, just_enough
):
    policy = Policy.load()
    policy.method_options = {**policy.method_options, "questions": {"enabled": False}}
    policy.save()
    everything = list(SecurityQuestion.objects.values_list("pk", flat=True))
    admin_client.post(LIST, {"action": "deactivate", "_selected_action": everything})
    assert offered() == 0


def test_the_policy_cannot_ask_for_more_questions_than_are_offered(admin_client, just_enough):
    before = Policy.load().updated_at
    response = admin_client.post(
        "/admin/policy/policy/1/change/", policy_form(method__questions__count="4")
    )
    assert response.status_code == 200
    assert (
        "Only 3 questions are offered, fewer than the 4 people would answer"
        in response.content.decode()
    )
    assert Policy.load().updated_at == before


def test_a_question_too_short_to_be_one_is_refused(admin_client):
    response = admin_client.post(f"{LIST}add/", {"text": "x", "active": "on"})
    assert response.status_code == 200
    assert "Write the question out in full: at least 8 characters." in response.content.decode()
    assert not SecurityQuestion.objects.filter(text="x").exists()


def test_each_offered_box_in_the_list_is_named_for_its_question(admin_client, approved_questions):
    """A screen reader hears which question a box offers; no box points at help the list does
    not show."""
    import re

    page = admin_client.get(LIST).content.decode()
    boxes = re.findall(r'<input type="checkbox" name="form-\d+-active"[^>]*>', page)
    assert boxes and len(boxes) == min(approved_questions.count(), 100)
    for question in approved_questions[:3]:
        assert f'aria-label="Active: {question}"' in page
    assert not any("aria-describedby" in box for box in boxes)


def test_retiring_an_answered_question_takes_its_answers_out_of_every_count(
    admin_client, user, approved_questions
):
    """A retired question is never asked at the portal, so its answer counts nowhere: not for
    the person's status, nor in the lists; the admin is told whom it leaves short."""
    from django.contrib.auth import get_user_model

    from methods.registry import REGISTRY, UserMethods, annotate_methods

    method, policy = REGISTRY["questions"], Policy.load()
    chosen = list(approved_questions.order_by("pk")[:3])
    for question in chosen:
        SecurityAnswer.objects.create(user=user, question=question, answer_hash="argon2$x")
    assert method.status(UserMethods.load(user), policy).count == 3
    page = admin_client.post(
        LIST, {"action": "deactivate", "_selected_action": [chosen[0].pk]}, follow=True
    ).content.decode()
    assert "1 question is no longer offered." in page
    assert "Answers to a retired question no longer count: 1 person who answered one" in page
    # Someone who answered it but keeps enough answers to offered questions is not counted.
    from django.contrib.auth import get_user_model as users

    plenty = users().objects.create_user("plenty")
    for question in approved_questions.order_by("pk")[1:5]:
        SecurityAnswer.objects.create(user=plenty, question=question, answer_hash="argon2$x")
    SecurityAnswer.objects.create(user=plenty, question=chosen[0], answer_hash="argon2$x")
    more = approved_questions.order_by("pk")[5]
    SecurityAnswer.objects.create(user=plenty, question=more, answer_hash="argon2$x")
    page = admin_client.post(
        LIST, {"action": "deactivate", "_selected_action": [more.pk]}, follow=True
    ).content.decode()
    assert "no longer count: 1 person" not in page and "no longer count" not in page
    status = method.status(UserMethods.load(user), policy)
    assert status.count == 2 and not method.usable_at_reset(UserMethods.load(user), policy)
    row = annotate_methods(get_user_model().objects.filter(pk=user.pk), policy).get()
    assert row.sspr_answers == 2


def test_the_actions_count_only_the_questions_they_changed(admin_client, approved_questions):
    """One of the two selected was retired already: one is no longer offered, not two; the
    other way, offering questions offered already changes nothing and says so."""
    first, second = approved_questions.order_by("pk")[:2]
    SecurityQuestion.objects.filter(pk=first.pk).update(active=False)

    def both(action: str) -> str:
        chosen = [first.pk, second.pk]
        response = admin_client.post(
            LIST, {"action": action, "_selected_action": chosen}, follow=True
        )
        return response.content.decode()

    assert "1 question is no longer offered." in both("deactivate")
    assert "Nothing changed: none of the selected questions was offered." in both("deactivate")
    assert "2 questions are offered." in both("activate")
    assert "Nothing changed: the selected questions were offered already." in both("activate")
