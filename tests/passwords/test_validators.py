"""The password rules' refusals, in the reader's language."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import translation


@pytest.mark.django_db
# Django's own catalogue lacks the wording in these three; the site's has it.
@pytest.mark.parametrize("language", ["ar", "it", "nl"])
def test_a_password_too_short_is_refused_in_the_readers_language(language):
    """Django's own catalogue lacks this wording in some languages; the site's has it."""
    with translation.override(language), pytest.raises(ValidationError) as refused:
        validate_password("Short-1")
    texts = " ".join(refused.value.messages)
    assert "This password is too short" not in texts and "12" in texts


@pytest.mark.django_db
@pytest.mark.parametrize(
    "password",
    [
        "+447400123456",  # the number as the portal's phone card asks for it
        "07400-123456-lighthouse",  # its national form, with a word
        "Tide 74 00 12 34 56 harbour",  # spaced
        "Rita.Home-lighthouse-2027",  # the authentication email's mailbox
        "R1ta.H0me-lighthouse-2027",  # disguised
        "02079460303-quartz-violin",  # the office phone
    ],
)
def test_a_password_holding_the_persons_phone_or_email_is_refused(make_user, password):
    """Whoever asks for a code at the reset portal types the person's number or address: the
    first guesses of anyone who tried. Refused, for the meter too; a stranger's number is not."""
    from django.utils import timezone

    from methods.models import AuthenticationEmail, AuthenticationPhone, OfficePhone
    from passwords.validators import strength_answer

    rita = make_user("rita")
    AuthenticationPhone.objects.create(
        user=rita, number="+447400123456", verified_at=timezone.now()
    )
    AuthenticationEmail.objects.create(
        user=rita, email="rita.home@example.net", verified_at=timezone.now()
    )
    OfficePhone.objects.create(user=rita, number="+442079460303")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, rita)
    assert "contains your phone number or your email address" in " ".join(refused.value.messages)
    assert "contains your phone number or email address" in strength_answer(password, rita)["label"]
    validate_password("Tide 74 00 99 88 77 harbour-quartz", rita)  # another number: taken
