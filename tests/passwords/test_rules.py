"""The organisation's banned words and the guessability check, as a person resetting meets them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from passwords.matching import contains_banned, fold
from passwords.models import BannedWord
from tests.support.resets import start_reset

pytestmark = pytest.mark.django_db

WORDS = ["Acme", "Springfield"]


@pytest.mark.parametrize(
    "password",
    [
        "acme-rocket-lantern",
        "ACMEforever2026!",
        "my@cm3-is-the-best",  # symbol and digit for letters
        "4CM3 stands tall here",
        "Spr1ngf1eld-in-winter",  # 1 read as i
        "xxSPRINGFIELDxx-blue",
        "Ác.me river boat 77",  # accent and a separator inside the word
    ],
)
def test_banned_words_are_found_however_disguised(password):
    assert contains_banned(password, WORDS)


@pytest.mark.parametrize("password", ["correct-horse-battery", "lantern-rocket-2026", "ac-me"])
def test_ordinary_passwords_pass(password):
    if password == "ac-me":
        # A separator splitting the word still spells it: refused too.
        assert contains_banned(password, WORDS)
    else:
        assert not contains_banned(password, WORDS)


def test_one_reads_as_i_or_l():
    assert {"il", "ll", "ii", "li"} == set(fold("11"))


def test_the_validators_refuse_banned_and_guessable_passwords(user):
    BannedWord.objects.create(word="Acme")
    with pytest.raises(ValidationError) as banned:
        validate_password("acme-rocket-lantern-2026", user)
    assert "does not allow" in str(banned.value)
    with pytest.raises(ValidationError) as guessable:
        validate_password("Password123456", user)
    assert "easy to guess" in str(guessable.value)
    validate_password("lantern-rocket-violin-2026", user)  # long and uncommon: accepted


def test_a_word_shorter_than_three_letters_cannot_be_banned(admin_client):
    response = admin_client.post("/admin/passwords/bannedword/add/", {"word": "a1"})
    assert response.status_code == 200
    assert "at least three letters" in response.content.decode()
    assert not BannedWord.objects.exists()
    assert (
        admin_client.post("/admin/passwords/bannedword/add/", {"word": "Acme"}).status_code == 302
    )


def test_the_new_password_page_lists_the_rules_and_names_the_account(proven):
    page = proven.get("/passwordreset/finish/").content.decode()
    assert "For the account <strong>rita</strong>" in page
    rules = page.split('id="password-rules"')[1].split("</ul>")[0]
    assert "at least 12 characters" in rules
    assert "banned" in rules and "easy to guess" in rules
    # A screen reader reads the rules with the new password's box.
    box = re.search(r'<input[^>]*id="id_new_password1"[^>]*>', page).group(0)
    assert 'aria-describedby="password-rules"' in box


def test_a_refused_password_is_explained_next_to_the_field_and_changes_nothing(proven):
    BannedWord.objects.create(word="Acme")
    response = proven.post(
        "/passwordreset/finish/",
        {"new_password1": "Acm3-rocket-lantern", "new_password2": "Acm3-rocket-lantern"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_new_password1_error"' in page and "does not allow" in page
    # The box is described by the rules, then by what was wrong with it.
    assert 'aria-describedby="password-rules id_new_password1_error"' in page
    from django.contrib.auth import get_user_model

    assert (
        get_user_model().objects.get(username="rita").check_password("correct-horse-battery-staple")
    )


def test_the_strength_meter_answers_only_a_proven_attempt(proven, client):
    answer = proven.post("/passwordreset/finish/strength/", {"password": "Password123456"}).json()
    assert answer["score"] <= 1 and not answer["accepted"]
    assert answer["label"] == "Not accepted: a common password; easy to guess"
    strong = proven.post(
        "/passwordreset/finish/strength/", {"password": "violin-ember-quartz-harbour"}
    ).json()
    assert strong["score"] >= 3 and strong["accepted"]
    assert strong["label"] in ("Strong", "Very strong")
    # Someone who has not proven anything learns nothing from it.
    from django.test import Client

    stranger = Client()
    start_reset(stranger, "rita")
    assert stranger.post("/passwordreset/finish/strength/", {"password": "x"}).status_code == 404


def test_a_password_close_to_the_account_name_is_refused_as_the_page_promises(proven):
    page = proven.get("/passwordreset/finish/").content.decode()
    assert "too similar to your other personal information" in page
    response = proven.post(
        "/passwordreset/finish/",
        {"new_password1": "rita.rita.rita.2026", "new_password2": "rita.rita.rita.2026"},
    )
    assert response.status_code == 200
    assert "contains your username or your name" in response.content.decode()
    disguised = "R1ta-lantern-violin"
    response = proven.post(
        "/passwordreset/finish/", {"new_password1": disguised, "new_password2": disguised}
    )
    assert "contains your username or your name" in response.content.decode()
