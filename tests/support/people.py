"""Signing people in, for tests that go through the portals as a person does: the password every
test user gets (the `make_user` fixture's default), a sign-in through the setup portal's form,
and a session already past the sign-in check that asks about registration."""

from __future__ import annotations

from django.test import Client

PASSWORD = "correct-horse-battery-staple"


def past_sign_in_check(client: Client, user) -> Client:
    """Sign `user` in on `client`, past the registration prompt (tested on its own)."""
    client.force_login(user)
    session = client.session
    session.pop("sspr_check_registration", None)
    session.save()
    return client


def sign_in(client: Client, username: str, password: str = PASSWORD):
    return client.post(
        "/ssprsetup/signin/", {"username": username, "password": password}, follow=False
    )
