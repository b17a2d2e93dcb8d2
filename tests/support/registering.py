"""Registering methods at the setup portal as a person does: asking for a phone code, proving a
phone or an email address with the code sent, the proof a change needs (made through the reset
portal's phone pages), and the form data that answers security questions."""

from __future__ import annotations

from django.test import Client

from tests.support.codes import last_email_code, last_phone_code
from tests.support.people import sign_in
from tests.support.resets import shows_reset_code_page


def shows_code_page(response, slug="phone") -> bool:
    """Whether `response` is the setup's code page for /ssprsetup/<slug>/: the page a sent code
    leads to, in the same response (methods/code/setup_views.py, _send)."""
    page = response.content.decode()
    return (
        response.status_code == 200
        and f'action="/ssprsetup/{slug}/verify/"' in page
        and 'name="code"' in page
    )


def register_phone(client: Client, number="+447400123456", channel="sms") -> str:
    sent = client.post("/ssprsetup/phone/", {"region": "", "number": number, "channel": channel})
    assert shows_code_page(sent), sent.content.decode()
    code = last_phone_code()
    response = client.post("/ssprsetup/phone/verify/", {"code": code})
    assert response.status_code == 302, response.content.decode()
    return code


def prove_with_phone(client: Client, number="+447400123456", next_url="/ssprsetup/"):
    """The proof before a change (methods/proof.py) through the reset portal's phone pages, as
    a person makes it: returns the response that ends it (a redirect to `next_url`)."""
    from urllib.parse import quote

    response = client.get(f"/passwordreset/prove/?next={quote(next_url)}")
    if response["Location"] == next_url:
        return response  # this session proved a moment ago: nothing is asked again
    assert response["Location"] == "/passwordreset/methods/", response
    sent = client.post("/passwordreset/phone/", {"number": number, "channel": "sms"})
    assert shows_reset_code_page(sent), sent.content.decode()
    checked = client.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert checked["Location"] == "/passwordreset/methods/", checked.content.decode()
    done = client.get(checked["Location"])
    assert done["Location"] == next_url
    return done


def proved_a_moment_ago(client: Client) -> None:
    """The session proved with a registered method just now (methods/proof.py), as
    prove_with_phone leaves it, where the test is not about the proof."""
    import time

    from methods.proof import PROVED_AT

    session = client.session
    session[PROVED_AT] = int(time.time())
    session.save()


def register_email(client: Client, address="alice.home@example.net") -> str:
    assert shows_code_page(client.post("/ssprsetup/email/", {"email": address}), "email")
    code = last_email_code()
    response = client.post("/ssprsetup/email/verify/", {"code": code})
    assert response.status_code == 302, response.content.decode()
    return code


def question_ids(count: int) -> list[int]:
    from methods.models import SecurityQuestion

    return list(SecurityQuestion.objects.filter(active=True).values_list("pk", flat=True)[:count])


ANSWERS = ["Blue Whale", "Paris   Nord", "Mrs Okafor", "clarinet", "Lisbon"]


def questions_data(count: int = 3, answers=ANSWERS) -> dict[str, str]:
    data = {}
    for index, (pk, answer) in enumerate(zip(question_ids(count), answers, strict=False), start=1):
        data[f"question_{index}"] = str(pk)
        data[f"answer_{index}"] = answer
    return data


def ask_for_code(make_user, number: str = "+447400123456") -> Client:
    client = Client()
    make_user("alice")
    assert sign_in(client, "alice").status_code == 302
    response = client.post("/ssprsetup/phone/", {"number": number, "channel": "sms"})
    assert shows_code_page(response)
    return client
