from __future__ import annotations

import pytest
from django.utils import timezone

from methods.models import AuthenticationEmail, AuthenticationPhone, OfficePhone


@pytest.fixture(autouse=True)
def _quick_captcha(settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000


@pytest.fixture
def registered(make_user):
    """A user with a verified phone and email (and the policy's default: one method to reset)."""
    user = make_user("rita")
    now = timezone.now()
    AuthenticationPhone.objects.create(user=user, number="+447400123456", verified_at=now)
    AuthenticationEmail.objects.create(user=user, email="rita.home@example.net", verified_at=now)
    return user


@pytest.fixture
def office(registered):
    OfficePhone.objects.create(user=registered, number="+442071838750")
    return registered
