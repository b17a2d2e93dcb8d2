"""How a password is compared with the banned words: the way people disguise a word."""

from __future__ import annotations

import unicodedata

# Digits and symbols people put in place of letters. "1" and "|" stand for "i" or "l", so
# both readings are tried.
SWAPS = {
    "0": "o",
    "3": "e",
    "4": "a",
    "@": "a",
    "5": "s",
    "$": "s",
    "7": "t",
    "+": "t",
    "8": "b",
    "9": "g",
    "!": "i",
}
AMBIGUOUS = {"1": "il", "|": "il"}


def _letters(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def fold(text: str) -> list[str]:
    """The readings of `text` as letters only: case, accents, swaps and separators removed."""
    readings = [""]
    for char in _letters(text):
        if char in AMBIGUOUS:
            readings = [reading + option for reading in readings for option in AMBIGUOUS[char]]
            readings = readings[:16]  # a password of many 1s needs no more readings than this
            continue
        char = SWAPS.get(char, char)
        if char.isalpha():
            readings = [reading + char for reading in readings]
    return readings


def contains_banned(password: str, words: list[str]) -> bool:
    readings = fold(password)
    folded = {reading for word in words for reading in fold(word) if len(reading) >= 3}
    return any(word in reading for reading in readings for word in folded)
