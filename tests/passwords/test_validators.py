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
