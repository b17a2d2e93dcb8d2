from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model

from audit.models import Event
from methods.models import SecurityAnswer, SecurityQuestion
from methods.questions.answers import answer_matches
from tests.support.registering import ANSWERS, question_ids, questions_data

pytestmark = pytest.mark.django_db


def test_questions_are_saved_as_argon2_hashes_of_normalised_answers(signed_in, user):
    data = questions_data(3)
    response = signed_in.post("/ssprsetup/questions/", data)
    assert response["Location"] == "/ssprsetup/"
    stored = {a.question_id: a.answer_hash for a in SecurityAnswer.objects.filter(user=user)}
    assert len(stored) == 3
    for index, typed in enumerate(ANSWERS[:3], start=1):
        encoded = stored[int(data[f"question_{index}"])]
        assert encoded.startswith("argon2$argon2id$")
        assert answer_matches(f"  {typed.upper()} ", encoded)
        assert not answer_matches(typed + "x", encoded)


def test_only_active_approved_questions_are_offered(signed_in, policy):
    retired = SecurityQuestion.objects.first()
    retired.active = False
    retired.save()
    page = signed_in.get("/ssprsetup/questions/").content.decode()
    assert retired.text not in page
    data = questions_data(3)
    data["question_1"] = str(retired.pk)
    response = signed_in.post("/ssprsetup/questions/", data)
    assert "Choose one of the questions in the list" in response.content.decode()


def test_the_policy_sets_how_many_questions(signed_in, policy, user):
    policy.set_option("questions", "count", 5)
    policy.save()
    page = signed_in.get("/ssprsetup/questions/").content.decode()
    assert 'name="question_5"' in page and 'name="question_6"' not in page
    assert signed_in.post("/ssprsetup/questions/", questions_data(5)).status_code == 302
    assert SecurityAnswer.objects.filter(user=user).count() == 5


def _errors(response, field):
    import re

    match = re.search(rf'id="id_{field}_error">(.*?)</ul>', response.content.decode(), re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"question_2": "same-as-1"}, "question_2", "You chose this question already"),
        ({"answer_2": "  blue WHALE "}, "answer_2", "different answer to each question"),
        ({"answer_1": "ab"}, "answer_1", "between 3 and 40 characters"),
        ({"answer_1": "   a        "}, "answer_1", "between 3 and 40 characters"),
        ({"answer_1": "\u200b\u200b\u200b\u200b"}, "answer_1", "between 3 and 40 characters"),
        ({"answer_1": "x" * 41}, "answer_1", "at most 40 characters"),
        ({"answer_1": "x" * 5000}, "answer_1", "at most 40 characters"),
        ({"answer_1": "ALICE"}, "answer_1", "cannot be your username or email"),
        ({"answer_1": "alice@example.org"}, "answer_1", "cannot be your username or email"),
        # What shows is what the rules read: an invisible character changes nothing.
        ({"answer_1": "ali\u200bce"}, "answer_1", "cannot be your username or email"),
        ({"answer_2": "blue\u200b whale"}, "answer_2", "different answer to each question"),
        ({"answer_1": "\u0301\u0301\u0301"}, "answer_1", "Use letters or digits"),
        ({"answer_1": "?????"}, "answer_1", "Use letters or digits"),
        ({"answer_3": ""}, "answer_3", "Type an answer"),
        ({"question_3": ""}, "question_3", "Choose a question"),
        ({"question_3": "999999"}, "question_3", "Choose one of the questions in the list"),
        ({"question_3": "abc"}, "question_3", "Choose one of the questions in the list"),
    ],
)
def test_bad_answers_come_back_next_to_the_field_and_save_nothing(
    signed_in, user, change, field, message
):
    data = questions_data(3)
    if change.get("question_2") == "same-as-1":
        change = {"question_2": data["question_1"]}
    data.update(change)
    response = signed_in.post("/ssprsetup/questions/", data)
    assert response.status_code == 200
    assert message in _errors(response, field)
    assert not SecurityAnswer.objects.filter(user=user).exists()


def test_answer_repeating_its_question_is_refused(signed_in, user):
    short = SecurityQuestion.objects.create(text="Favourite colour?")
    data = questions_data(3) | {"question_1": str(short.pk), "answer_1": "favourite  COLOUR?"}
    response = signed_in.post("/ssprsetup/questions/", data)
    assert "cannot repeat its question" in _errors(response, "answer_1")
    assert not SecurityAnswer.objects.filter(user=user).exists()


def test_missing_and_extra_fields(signed_in, user):
    assert signed_in.post("/ssprsetup/questions/", {}).status_code == 200
    data = questions_data(3) | {"question_9": "1", "answer_9": "extra", "is_staff": "1"}
    assert signed_in.post("/ssprsetup/questions/", data).status_code == 302
    assert SecurityAnswer.objects.filter(user=user).count() == 3
    user.refresh_from_db()
    assert not user.is_staff


def test_saving_again_replaces_the_whole_set(signed_in, user):
    signed_in.post("/ssprsetup/questions/", questions_data(3))
    first = set(SecurityAnswer.objects.filter(user=user).values_list("question_id", flat=True))
    ids = question_ids(6)[3:]
    data = {}
    for index, (pk, answer) in enumerate(
        zip(ids, ["one two", "three four", "five six"], strict=True), 1
    ):
        data |= {f"question_{index}": str(pk), f"answer_{index}": answer}
    assert signed_in.post("/ssprsetup/questions/", data).status_code == 302
    second = set(SecurityAnswer.objects.filter(user=user).values_list("question_id", flat=True))
    assert second == set(ids) and not first & second


def test_answers_never_appear_in_pages_admin_audit_or_logs(admin_client, signed_in, user, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "Zanzibar Lighthouse"
    data = questions_data(3, answers=[secret, "Qwerty Mountain", "Velvet Harbour"])
    data["answer_2"] = "ab"  # one error, so the form comes back
    error_page = signed_in.post("/ssprsetup/questions/", data).content.decode()
    # The person's own form, being corrected, keeps their valid answers (and only those);
    # once saved they appear nowhere.
    assert 'value="Zanzibar Lighthouse"' in error_page and 'value="ab"' not in error_page
    data["answer_2"] = "Qwerty Mountain"
    signed_in.post("/ssprsetup/questions/", data)
    pages = [signed_in.get("/ssprsetup/").content.decode()]
    pages.append(signed_in.get("/ssprsetup/questions/").content.decode())

    client = admin_client
    change_page = client.get(f"/admin/auth/user/{user.pk}/change/").content.decode()
    assert "Configured: 3 questions" in change_page
    pages.append(change_page)
    pages.append(client.get("/admin/methods/securityquestion/").content.decode())
    pages.append(str(list(Event.objects.values_list("details", flat=True))))
    pages.append(caplog.text)

    stored = list(SecurityAnswer.objects.filter(user=user).values_list("answer_hash", flat=True))
    salts = [encoded.split("$")[-2] for encoded in stored]
    for page in pages:
        for needle in ("zanzibar", "Zanzibar", "qwerty", "velvet", *stored, *salts):
            assert needle not in page


def test_a_user_cannot_see_another_users_answers_count_or_values(signed_in, make_user):
    bob = make_user("bob")
    SecurityAnswer.objects.create(
        user=bob, question=SecurityQuestion.objects.first(), answer_hash="argon2$x"
    )
    page = signed_in.get("/ssprsetup/").content.decode()
    assert "1 question answered" not in page
    assert get_user_model().objects.count() == 2


def test_one_wrong_answer_keeps_the_valid_ones_for_correcting(signed_in, approved_questions):
    data = questions_data(3, answers=["Blue Whale", "ab", "Mrs Okafor"])
    page = signed_in.post("/ssprsetup/questions/", data).content.decode()
    assert 'value="Blue Whale"' in page and 'value="Mrs Okafor"' in page
    assert 'value="ab"' not in page  # the wrong one is typed again
    assert "type the ones marked again" in page
    fixed = questions_data(3, answers=["Blue Whale", "Lisbon", "Mrs Okafor"])
    assert signed_in.post("/ssprsetup/questions/", fixed).status_code == 302
    # Once saved, answers never come back into a page.
    again = signed_in.get("/ssprsetup/questions/").content.decode()
    assert "Blue Whale" not in again and "Okafor" not in again
