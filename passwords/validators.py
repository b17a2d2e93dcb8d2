"""Password validators, used by Django's own checks on every reset (and change)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from zxcvbn import zxcvbn

from .matching import contains_banned
from .models import BannedWord

# zxcvbn's score: 0 too guessable ... 4 very unguessable.
STRENGTH_LABELS = {
    0: gettext_lazy("Very weak"),
    1: gettext_lazy("Weak"),
    2: gettext_lazy("Fair"),
    3: gettext_lazy("Strong"),
    4: gettext_lazy("Very strong"),
}


def strength(password: str, user=None) -> int:
    """An estimate of how hard the password is to guess (0-4), computed here, not elsewhere."""
    inputs = []
    if user is not None:
        inputs = [
            value
            for value in (
                user.get_username(),
                getattr(user, "first_name", ""),
                getattr(user, "last_name", ""),
                getattr(user, "email", ""),
            )
            if value
        ]
    inputs += list(BannedWord.objects.values_list("word", flat=True))
    return zxcvbn(password[:200], user_inputs=inputs)["score"]


def strength_answer(password: str, user=None) -> dict:
    """What a strength meter shows: the score and its words."""
    score = strength(password[:200], user)
    return {"score": score, "label": str(STRENGTH_LABELS[score])}


class BannedWordsValidator:
    """Refuse a password containing a word the organisation listed (admin: Password rules)."""

    def validate(self, password: str, user=None) -> None:
        words = list(BannedWord.objects.values_list("word", flat=True))
        if words and contains_banned(password, words):
            raise ValidationError(
                _(
                    "This password contains a word your organisation does not allow, such as "
                    "its own name, perhaps written with digits or symbols. Choose another."
                ),
                code="banned_word",
            )

    def get_help_text(self) -> str:
        return _("It may not contain your organisation's name or other words it has banned.")


class PersonalWordsValidator:
    """Refuse a password containing the person's username or names, however disguised: what
    a colleague would try first. (Django's similarity check compares whole strings, so
    "rita.rita.2026" passes it.)"""

    def validate(self, password: str, user=None) -> None:
        if user is None:
            return
        email = getattr(user, "email", "") or ""
        words = [
            user.get_username(),
            getattr(user, "first_name", ""),
            getattr(user, "last_name", ""),
            email.split("@")[0],
        ]
        if contains_banned(password, [word for word in words if word]):
            raise ValidationError(
                _(
                    "This password contains your username or your name, perhaps written with "
                    "digits or symbols. Choose another."
                ),
                code="personal_word",
            )

    def get_help_text(self) -> str:
        return _("It may not contain your username or your name, even disguised.")


class StrengthValidator:
    """Refuse a password that is easy to guess even if long enough (score below `minimum`)."""

    def __init__(self, minimum: int = 2):
        self.minimum = minimum

    def validate(self, password: str, user=None) -> None:
        if strength(password, user) < self.minimum:
            raise ValidationError(
                _(
                    "This password is easy to guess: it follows a common pattern or uses "
                    "common words. Add unusual words, or make it longer."
                ),
                code="too_guessable",
            )

    def get_help_text(self) -> str:
        return _("It must not be easy to guess: common patterns and words count against it.")
