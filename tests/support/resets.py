"""Starting a password reset at the reset portal as a person does (the name, a solved captcha,
then the action), and a reset brought as far as the page that waits for a phone code."""

from __future__ import annotations

from django.test import Client

from passwordreset import captcha


def start_reset(client: Client, username: str, action: str | None = "reset"):
    challenge = client.get("/passwordreset/check/").json()
    response = client.post(
        "/passwordreset/", {"username": username, "altcha": captcha.solve(challenge)}
    )
    if action and response.status_code == 302:
        response = client.post("/passwordreset/action/", {"action": action})
    return response


def reset_code_page(name: str, number: str) -> Client:
    """A reset started for `name` at the portal, a code asked for `number`: on its code page."""
    client = Client()
    assert start_reset(client, name).status_code == 302
    response = client.post("/passwordreset/phone/", {"number": number, "channel": "sms"})
    assert response["Location"] == "/passwordreset/phone/code/"
    return client
