"""Password validators, used by Django's own checks on every reset (and change)."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth import password_validation
from django.contrib.auth.password_validation import get_default_password_validators
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from zxcvbn_rs_py import zxcvbn

from sspr_site.request_memo import once_per_request

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


# zxcvbn judges at most this many characters at once: a longer password is judged by pieces.
JUDGED_CHUNK = 72

# The longest password any form of the site takes (docs/security.md, "The web layer"): for any
# passphrase, yet short enough that hashing and judging it stay cheap.
MAX_LENGTH = 1024

# The request's memo of the banned words (passwords.models forgets it when they change).
BANNED_WORDS = "banned_words"


def _personal_inputs(user) -> list[str]:
    if user is None:
        return []
    return [
        value
        for value in (
            user.get_username(),
            getattr(user, "first_name", ""),
            getattr(user, "last_name", ""),
            getattr(user, "email", ""),
        )
        if value
    ]


def _judgeable(text: str) -> str:
    """`text` as UTF-8 can carry it: a lone surrogate (which a JSON body can hold, a form
    cannot) becomes U+FFFD instead of failing the estimate."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def banned_words() -> list[str]:
    """The organisation's banned words, read once per request: a new password is judged by
    the strength estimate and by BannedWordsValidator, each of which needs them."""
    return once_per_request(
        BANNED_WORDS, lambda: list(BannedWord.objects.values_list("word", flat=True))
    )


def strength(password: str, user=None) -> int:
    """An estimate of how hard the password is to guess (0-4), computed here, not elsewhere.

    zxcvbn judges at most 72 characters, so a longer passphrase is cut into pieces of 72 and
    scored as its hardest piece: whoever guesses the whole must also guess that piece, so the
    whole is never praised beyond what one of its parts earns. Identical pieces are judged
    once. Nothing (the empty password) scores 0."""
    password = password[:MAX_LENGTH]
    if not password:
        return 0
    inputs = [_judgeable(word) for word in _personal_inputs(user) + banned_words()]
    best, seen = 0, set()
    for start in range(0, len(password), JUDGED_CHUNK):
        chunk = password[start : start + JUDGED_CHUNK]
        if chunk in seen:
            continue
        seen.add(chunk)
        best = max(best, int(zxcvbn(_judgeable(chunk), user_inputs=inputs).score))
        if best == 4:
            break
    return best


# What the meter says about each refusal, in a few words (the form says the full sentence).
SHORT_REASONS = {
    "password_too_short": gettext_lazy("too short"),
    "password_too_long": gettext_lazy("too long"),
    "password_too_similar": gettext_lazy("too close to your name or username"),
    "password_too_common": gettext_lazy("a common password"),
    "password_entirely_numeric": gettext_lazy("only digits"),
    "banned_word": gettext_lazy("contains a word your organisation does not allow"),
    "personal_word": gettext_lazy("contains your username or your name"),
    "contact_detail": gettext_lazy("contains your phone number or email address"),
    "too_guessable": gettext_lazy("easy to guess"),
}


def refusals(password: str, user=None, *, score: int | None = None) -> list[ValidationError]:
    """Every reason the configured validators (AUTH_PASSWORD_VALIDATORS, the very list the
    forms use) give for refusing `password` for `user`; empty when it would be accepted."""
    if not password:
        return [ValidationError(_("Type a password."), code="required")]
    try:  # an overlong password is refused for that alone, as the forms do, unjudged
        bounded_password(password)
    except ValidationError as error:
        return error.error_list
    found = []
    for validator in get_default_password_validators():
        try:
            if isinstance(validator, StrengthValidator) and score is not None:
                validator.check_score(score)
            else:
                validator.validate(password, user)
        except ValidationError as error:
            found.extend(error.error_list)
    return found


def strength_answer(password: str, user=None) -> dict:
    """What a strength meter shows: the verdict of the same rules the form applies (so it
    never praises a password the form would refuse), the score and its words."""
    score = strength(password, user) if len(password) <= MAX_LENGTH else 0
    refused = refusals(password, user, score=score)
    if refused:
        reasons = []
        for error in refused:
            reason = str(SHORT_REASONS.get(error.code) or " ".join(error.messages))
            if reason not in reasons:
                reasons.append(reason)
        label = _("Not accepted: %(reasons)s") % {"reasons": "; ".join(reasons)}
    else:
        label = str(STRENGTH_LABELS[score])
    return {
        "accepted": not refused,
        "score": score,
        "label": label,
        "reasons": [message for error in refused for message in error.messages],
    }


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, its refusal worded in the site's catalogue: Django's own lacks this wording
    in some of the site's languages (Arabic, Italian, Dutch), which then read English."""

    def get_error_message(self) -> str:
        return (
            ngettext(
                "This password is too short. It must contain at least %d character.",
                "This password is too short. It must contain at least %d characters.",
                self.min_length,
            )
            % self.min_length
        )


class MaximumLengthValidator:
    """Refuse a new password longer than MAX_LENGTH characters (every form's password fields
    are bounded the same way, by `bounded_password`)."""

    def __init__(self, max_length: int = MAX_LENGTH):
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        bounded_password(password, self.max_length)

    def get_help_text(self) -> str:
        return ngettext(
            "It may have at most %(limit)d character.",
            "It may have at most %(limit)d characters.",
            self.max_length,
        ) % {"limit": self.max_length}


def bounded_password(value: str, limit: int = MAX_LENGTH) -> None:
    """A field validator for every password field: a clear refusal of an overlong value,
    before it is hashed, judged or sent to a directory."""
    if value and len(value) > limit:
        raise ValidationError(
            ngettext(
                "A password has at most %(limit)d character; this one has %(length)d.",
                "A password has at most %(limit)d characters; this one has %(length)d.",
                limit,
            )
            % {"limit": limit, "length": len(value)},
            code="password_too_long",
        )


class BannedWordsValidator:
    """Refuse a password containing a word the organisation listed (admin: Password rules)."""

    def validate(self, password: str, user=None) -> None:
        words = banned_words()
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


def contact_details(user) -> tuple[list[str], list[str]]:
    """The person's phone numbers (their national digits) and email addresses, from each app
    that keeps some (its AppConfig's `contact_details(user)`: methods/apps.py)."""
    numbers: list[str] = []
    addresses: list[str] = []
    for app in apps.get_app_configs():
        if reader := getattr(app, "contact_details", None):
            found_numbers, found_addresses = reader(user)
            numbers += found_numbers
            addresses += found_addresses
    return numbers, addresses


class ContactDetailsValidator:
    """Refuse a password containing the person's own phone number or email address: whoever
    asks for a code at the reset portal types exactly these, so they are the first guesses of
    anyone who tried (docs/security.md, "The new password")."""

    def validate(self, password: str, user=None) -> None:
        if user is None or getattr(user, "pk", None) is None:
            return
        numbers, addresses = contact_details(user)
        digits = "".join(char for char in password if char in "0123456789")
        in_digits = any(len(number) >= 6 and number in digits for number in numbers)
        local_parts = [address.split("@")[0] for address in addresses]
        if in_digits or contains_banned(password, [part for part in local_parts if part]):
            raise ValidationError(
                _(
                    "This password contains your phone number or your email address, perhaps "
                    "written differently. Choose another."
                ),
                code="contact_detail",
            )

    def get_help_text(self) -> str:
        return _("It may not contain your phone numbers or email addresses.")


class StrengthValidator:
    """Refuse a password that is easy to guess even if long enough (score below `minimum`)."""

    def __init__(self, minimum: int = 2):
        self.minimum = minimum

    def validate(self, password: str, user=None) -> None:
        if len(password) > MAX_LENGTH:
            return  # refused for its length alone (MaximumLengthValidator), never judged
        self.check_score(strength(password, user))

    def check_score(self, score: int) -> None:
        if score < self.minimum:
            raise ValidationError(
                _(
                    "This password is easy to guess: it follows a common pattern or uses "
                    "common words. Add unusual words, or make it longer."
                ),
                code="too_guessable",
            )

    def get_help_text(self) -> str:
        return _("It must not be easy to guess: common patterns and words count against it.")
