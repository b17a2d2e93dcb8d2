"""Starting a password reset at the reset portal as a person does (the name, a solved captcha,
then the action), and a reset brought as far as the page that waits for a phone code."""

from __future__ import annotations

import re

from django.test import Client

from passwordreset import captcha

# What differs between two drawings of the same page by chance, not by account: the CSRF
# token, the send page's own token (methods/code/reset_views.py) and the attempt's id.
_TOKENS = re.compile(r'name="(csrfmiddlewaretoken|form|attempt)" value="[^"]+"')


def without_tokens(page: str) -> str:
    """A reset page's HTML less its tokens, to compare the pages two accounts get."""
    return _TOKENS.sub(r'name="\1"', page)


def shows_reset_code_page(response, slug: str = "phone") -> bool:
    """Whether `response` is the reset portal's code page for /passwordreset/<slug>/: the page
    a code asked for leads to, in the same response (methods/code/reset_views.py, send)."""
    page = response.content.decode()
    return (
        response.status_code == 200
        and f'action="/passwordreset/{slug}/code/"' in page
        and 'name="code"' in page
    )


def shows_finish_page(response) -> bool:
    """Whether `response` is the reset portal's last step (the new password or the unlock), as
    the answer to a method that passed (passwordreset.views.after_pass)."""
    page = response.content
    return (
        response.status_code == 200
        and b'data-page-address="/passwordreset/finish/"' in page
        # The new password's form, or the unlock button: not the page that says neither.
        and (b'name="new_password1"' in page or b"Unlock my account" in page)
    )


def card_form(page: str, path: str) -> str:
    """The form on a card of the reset's methods page that is sent to `path`
    (passwordreset.views.CARD_FORM)."""
    found = re.search(rf'<form method="post" action="{re.escape(path)}".*?</form>', page, re.S)
    assert found, f"no form for {path} on the page"
    return found.group(0)


def shows_methods_page(response) -> bool:
    """Whether `response` is the reset portal's methods page as the answer to the first page's
    form (the name and what is needed): passwordreset.views.start."""
    page = response.content.decode()
    return (
        response.status_code == 200
        and 'data-page-address="/passwordreset/methods/"' in page
        and '<li class="card">' in page
    )


def shows_done_page(response, outcome: str = "reset") -> bool:
    """Whether `response` is the reset portal's done page for `outcome` (reset or unlock), as
    the answer to the last step (passwordreset.views._done) or opened again."""
    page = response.content.decode()
    heading = "Your password is changed" if outcome == "reset" else "Your account is unlocked"
    return (
        response.status_code == 200
        and 'data-page-address="/passwordreset/done/"' in page
        and f"<h1>{heading}</h1>" in page
    )


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
    assert shows_reset_code_page(response), response
    return client
