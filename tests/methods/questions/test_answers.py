from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from django.conf import settings

from methods.questions.answers import answer_matches, hash_answer, normalise


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Blue   Whale ", "blue whale"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # case-folding, not just lower-casing
        ("ｆｕｌｌ　ｗｉｄｔｈ", "full width"),  # NFKC
        ("tab\tand\nnewline", "tab and newline"),
        ("\u200bblue\u200d whale\u200e", "blue whale"),  # characters that show nothing
        ("\u200b\u200b\u200b\u200b", ""),  # is no answer at all
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
