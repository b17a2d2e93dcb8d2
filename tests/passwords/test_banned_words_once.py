"""A new password is judged with one read of the banned words a request: the strength estimate
and the banned-word rule both need them (sspr_site/request_memo.py). A word banned during the
request counts at once, and the next request reads the words as they are then."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from passwords.models import BannedWord
from sspr_site.request_memo import request_memo

pytestmark = pytest.mark.django_db


def word_reads(queries) -> int:
    return sum('FROM "passwords_bannedword"' in q["sql"] for q in queries.captured_queries)


def test_the_meter_reads_the_banned_words_once(signed_in):
    BannedWord.objects.create(word="lantern")
    with CaptureQueriesContext(connection) as queries:
        answer = signed_in.post(
            "/ssprsetup/password/strength/", {"password": "Lantern-copper-2027-quiet"}
        ).json()
    assert word_reads(queries) == 1
    assert not answer["accepted"]
    assert "does not allow" in answer["label"]


def test_the_next_request_reads_the_words_as_they_are_then(signed_in):
    password = {"password": "Harbour-copper-2027-quiet"}
    assert signed_in.post("/ssprsetup/password/strength/", password).json()["accepted"]
    BannedWord.objects.create(word="harbour")
    assert not signed_in.post("/ssprsetup/password/strength/", password).json()["accepted"]


def test_a_word_banned_during_the_request_counts_at_once(user):
    token = request_memo.set({})
    try:
        validate_password("Meadow-copper-2027-quiet", user)  # the words are read (none)
        word = BannedWord.objects.create(word="meadow")
        with pytest.raises(ValidationError) as refused:
            validate_password("Meadow-copper-2027-quiet", user)
        assert "banned_word" in [error.code for error in refused.value.error_list]
        word.delete()
        validate_password("Meadow-copper-2027-quiet", user)
    finally:
        request_memo.reset(token)


def test_outside_a_request_every_judgement_reads_the_words(user):
    with CaptureQueriesContext(connection) as queries:
        validate_password("Orchard-copper-2027-quiet", user)
        validate_password("Orchard-copper-2027-quiet", user)
    assert word_reads(queries) == 4  # the estimate and the rule, twice
