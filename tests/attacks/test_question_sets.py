"""The questions asked at /passwordreset must not tell a real account from an unknown name."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from methods.models import SecurityAnswer, SecurityQuestion
from tests.support.registering import questions_data
from tests.support.resets import start_reset

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fixed_key(settings):
    # The stable draw for names without questions depends on the secret key: fix it, so that
    # what this test sees is the same on every machine.
    settings.SECRET_KEY = "k" * 50
    settings.SSPR_CAPTCHA_DIFFICULTY = 50
    settings.SSPR_RESET_ATTEMPTS_PER_HOUR = 1000


def asked(username: str) -> list[int]:
    client = Client()
    start_reset(client, username)
    page = client.get("/passwordreset/questions/").content.decode()
    return [int(pk) for pk in re.findall(r'name="answer_(\d+)"', page)]


@pytest.fixture
def rita(make_user, approved_questions):
    user = make_user("rita")
    owner = Client()
    owner.force_login(user)
    owner.post("/ssprsetup/questions/", questions_data(3))
    return user


def test_a_name_in_other_letter_case_behaves_alike_for_every_kind_of_account(rita, make_user):
    """ "RITA" is not "rita" (names are case-sensitive, as at sign-in), whether or not "rita"
    has questions: the other spelling gets its own draw either way."""
    make_user("fresh")
    assert asked("rita") != asked("RITA")
    assert asked("fresh") != asked("FRESH")
    assert asked("RITA") == asked("RITA") and asked("FRESH") == asked("FRESH")


def test_a_retired_question_is_asked_of_nobody(rita):
    retired = SecurityAnswer.objects.filter(user=rita).first().question
    SecurityQuestion.objects.filter(pk=retired.pk).update(active=False)
    for _ in range(5):
        assert retired.pk not in asked("rita")
        assert retired.pk not in asked("ghost")
    # With too few approved answers left, rita is asked a set like anyone without questions.
    assert len(asked("rita")) == 3
