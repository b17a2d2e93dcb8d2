from __future__ import annotations

import pytest
from django.utils import timezone

from methods.models import AuthenticationEmail
from tests.support.codes import last_email_code
from tests.support.resets import start_reset


@pytest.fixture
def proven(client, make_user, settings):
    """A person (rita, first name Rita) who proved who they are at /passwordreset and reached
    the last step."""
    settings.SSPR_CAPTCHA_DIFFICULTY = 50
    rita = make_user("rita")
    AuthenticationEmail.objects.create(
        user=rita, email="rita.home@example.net", verified_at=timezone.now()
    )
    start_reset(client, "rita")
    client.post("/passwordreset/email/", {"email": "rita.home@example.net"})
    client.post("/passwordreset/email/code/", {"code": last_email_code()})
    return client
