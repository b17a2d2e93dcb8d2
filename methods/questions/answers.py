"""Security answers: normalise, check the rules, hash with Argon2, verify."""

from __future__ import annotations

import re
import unicodedata

from django.contrib.auth.hashers import check_password, make_password

MIN_LENGTH = 3
MAX_LENGTH = 40
_SPACES = re.compile(r"\s+")


def normalise(answer: str) -> str:
    """Return the form that is hashed: NFKC, case-folded, trimmed, inner spaces collapsed.

    So "  Blue   Whale" and "blue whale" are the same answer, as a person would expect.
    """
    folded = unicodedata.normalize("NFKC", answer).casefold()
    return _SPACES.sub(" ", folded).strip()


def visible(normalised: str) -> str:
    """What of an answer shows: without the characters that show nothing (zero-width spaces
    and joiners, direction marks). Its length is what the rules count, so an answer of them
    alone is no answer; the hash keeps them, as answers kept before were hashed with them."""
    return "".join(ch for ch in normalised if unicodedata.category(ch) != "Cf").strip()


def shows_something(normalised: str) -> bool:
    """Whether an answer holds a letter or a digit (not only marks, symbols or punctuation)."""
    return any(ch.isalnum() for ch in normalised)


def hash_answer(normalised: str) -> str:
    """Hash a normalised answer with Argon2id (Django's hasher, its memory and time costs)."""
    return make_password(normalised, hasher="argon2")


def answer_matches(answer: str, encoded: str) -> bool:
    """Compare a typed answer with a stored hash (constant time inside the hasher)."""
    return check_password(normalise(answer), encoded, preferred="argon2")
