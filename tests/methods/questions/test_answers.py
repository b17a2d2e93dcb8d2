from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from django.conf import settings

from methods.questions.answers import answer_matches, hash_answer, normalise, visible


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Blue   Whale ", "blue whale"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # case-folding, not just lower-casing
        ("ｆｕｌｌ　ｗｉｄｔｈ", "full width"),  # NFKC
        ("tab\tand\nnewline", "tab and newline"),
    ],
)
def test_answers_are_normalised(typed, stored):
    assert normalise(typed) == stored


def test_answer_hash_is_argon2id_with_strong_parameters():
    encoded = hash_answer("blue whale")
    assert encoded.startswith("argon2$argon2id$")
    params = PasswordHasher().check_needs_rehash  # noqa: F841  (argon2 is importable)
    from argon2 import extract_parameters

    parameters = extract_parameters(encoded.removeprefix("argon2"))
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
    assert "blue" not in encoded


def test_typed_answer_matches_its_hash_however_it_is_spaced_or_cased():
    encoded = hash_answer(normalise("Blue Whale"))
    assert answer_matches("  BLUE    whale", encoded)
    assert not answer_matches("blue whales", encoded)


def test_argon2_is_the_first_password_hasher():
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_characters_that_show_nothing_are_not_counted_but_stay_in_the_hash():
    """An answer of zero-width spaces alone is no answer (the form counts what shows); an
    answer kept before with a joiner in it (Persian, an emoji sequence) still matches."""
    assert visible(normalise("\u200b\u200b\u200b\u200b")) == ""
    assert visible(normalise("\u200bblue whale\u200e")) == "blue whale"
    kept = hash_answer(normalise("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"))
    assert answer_matches("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", kept)
