"""Every POST needs the CSRF token (docs/security.md §22)."""

from __future__ import annotations

import pytest
from django.test import Client

from methods.models import AuthenticationPhone, SecurityAnswer
from registration.models import Registration
from tests.support.people import PASSWORD
from tests.support.registering import questions_data, shows_code_page

pytestmark = pytest.mark.django_db

POSTS = [
    ("/ssprsetup/signin/", {"username": "alice", "password": PASSWORD}),
    ("/ssprsetup/signout/", {}),
    ("/ssprsetup/confirm-password/", {"password": PASSWORD}),
    ("/ssprsetup/finish/", {}),
    ("/ssprsetup/phone/", {"number": "+447400123456"}),
    ("/ssprsetup/phone/confirm/", {}),
    ("/ssprsetup/phone/send/", {"channel": "sms"}),
    ("/ssprsetup/phone/verify/", {"code": "123456"}),
    ("/ssprsetup/phone/remove/", {}),
    ("/ssprsetup/email/", {"email": "alice.home@example.net"}),
    ("/ssprsetup/email/verify/", {"code": "123456"}),
    ("/ssprsetup/email/remove/", {}),
    ("/ssprsetup/questions/", None),
    ("/ssprsetup/questions/remove/", {}),
]


@pytest.mark.parametrize(("path", "data"), POSTS)
def test_posts_without_the_csrf_token_are_refused(user, phone_outbox, path, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(path, data if data is not None else questions_data(3))
    assert response.status_code == 403
    assert phone_outbox == []
    assert not AuthenticationPhone.objects.exists()
    assert not SecurityAnswer.objects.exists()
    assert not Registration.objects.exists()


def test_the_same_post_with_the_token_works(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/ssprsetup/phone/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/ssprsetup/phone/",
        {"number": "+447400123456", "channel": "sms", "csrfmiddlewaretoken": token},
    )
    assert shows_code_page(response)
