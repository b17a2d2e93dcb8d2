"""Passwords of any length, and the meter's verdict: every page that takes a password answers
'', 73, 200 and 5,000 characters, unicode and NUL with a page or a field error, never a server
error; a passphrase up to the site's maximum (1,024 characters) is judged and may be used; a
longer one is refused next to the field; and the strength meter refuses, with the reasons,
exactly what the form would refuse."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from methods.models import AuthenticationEmail
from passwords.validators import MAX_LENGTH, strength
from tests.support.codes import last_email_code
from tests.support.people import PASSWORD, sign_in
from tests.support.resets import shows_done_page, start_reset

pytestmark = pytest.mark.django_db

# A strong passphrase of 200 characters: made of uncommon words, none of them a name.
PASSPHRASE = ("quartz-lantern violin harbour ember walnut copper kettle saffron meadow " * 3)[:200]
ODD = {
    "empty": "",
    "73": "x" * 73,
    "200": "y" * 200,
    "5000": "z" * 5000,
    "unicode": "ﷺ😀é\u202e\u200b" * 30,
    "nul": "lantern\x00violin-harbour",
}
# A NUL is refused before any form sees it (sspr_site.limits): a plain 400 page.
NUL_REFUSED = "The request contained a character that cannot be processed."
TOO_LONG = "A password has at most 1024 characters; this one has 5000."


def rita() -> object:
    return get_user_model().objects.get(username="rita")


@pytest.fixture
def rita_signed_in(make_user, client) -> Client:
    make_user("rita")
    assert sign_in(client, "rita").status_code == 302
    return client


@pytest.fixture
def proven(make_user, settings):
    """Rita's reset attempt, proven, on a client of its own (tests/passwords/conftest.py's
    uses `client`, which here is Rita signed in)."""
    settings.SSPR_CAPTCHA_DIFFICULTY = 50
    user = get_user_model().objects.filter(username="rita").first() or make_user("rita")
    AuthenticationEmail.objects.get_or_create(
        user=user, defaults={"email": "rita.home@example.net", "verified_at": timezone.now()}
    )
    client = Client()
    start_reset(client, "rita")
    client.post("/passwordreset/email/", {"email": "rita.home@example.net"})
    client.post("/passwordreset/email/code/", {"code": last_email_code()})
    return client


def field_error(page: str, field: str) -> str:
    assert f'id="id_{field}_error"' in page, page
    return page.split(f'id="id_{field}_error"')[1].split("</div>")[0]


# --- The estimate itself ----------------------------------------------------------------------


def test_a_long_passphrase_is_judged_by_its_strongest_part_and_nothing_scores_nothing(user):
    assert strength("") == 0
    assert strength("a" * 72) == 0
    assert strength("a" * 5000) == 0  # long but trivially guessable: still very weak
    assert strength(PASSPHRASE) >= 3
    # Weak at first, strong further on: the whole is at least as hard as that further part.
    assert strength("a" * 72 + PASSPHRASE[:72]) >= 3
    assert strength("\x00" * 100) == 0


def test_text_no_form_can_send_is_still_judged(make_user):
    """A lone surrogate cannot come from a form, but can from a JSON body or a directory
    attribute: in the password or in the person's names it is judged, not an error."""
    person = make_user("rita")
    person.first_name = "Ri\ud800ta"
    assert strength("pass\ud800word", person) in range(5)
    assert strength(PASSPHRASE[:60] + "\udfff", person) >= 3


# --- Every page that takes a password -------------------------------------------------------


@pytest.mark.parametrize("kind", list(ODD))
def test_the_meter_answers_any_password_and_never_fails(rita_signed_in, proven, kind):
    for client, url in (
        (rita_signed_in, "/ssprsetup/password/strength/"),
        (proven, "/passwordreset/finish/strength/"),
    ):
        response = client.post(url, {"password": ODD[kind]})
        if kind == "nul":
            assert response.status_code == 400 and NUL_REFUSED in response.content.decode()
            continue
        assert response.status_code == 200, (url, kind)
        answer = response.json()
        if kind in ("empty", "73", "200", "5000"):  # short, repetitive or too long
            assert answer["accepted"] is False and answer["label"].startswith("Not accepted")
        if kind == "5000":
            assert answer["label"] == "Not accepted: too long"  # for that alone, unjudged
            assert answer["reasons"] == [TOO_LONG]


@pytest.mark.parametrize("kind", list(ODD))
def test_changing_a_password_answers_any_length_with_a_field_error(rita_signed_in, kind):
    value = ODD[kind]
    response = rita_signed_in.post(
        "/ssprsetup/password/",
        {"current_password": PASSWORD, "new_password1": value, "new_password2": value},
    )
    if kind == "unicode":  # long, unusual and no name in it: a good password
        assert response.status_code == 302 and rita().check_password(value)
        return
    if kind == "nul":
        assert response.status_code == 400 and NUL_REFUSED in response.content.decode()
        assert rita().check_password(PASSWORD)
        return
    assert response.status_code == 200, kind
    error = field_error(response.content.decode(), "new_password1")
    if kind == "empty":
        assert "Type a new password." in error
    if kind == "5000":
        assert TOO_LONG in error
    assert rita().check_password(PASSWORD)  # nothing changed


@pytest.mark.parametrize("kind", list(ODD))
def test_the_reset_portals_last_step_answers_any_length_with_a_field_error(proven, kind):
    value = ODD[kind]
    response = proven.post(
        "/passwordreset/finish/", {"new_password1": value, "new_password2": value}
    )
    if kind == "unicode":  # long, unusual and no name in it: a good password
        assert shows_done_page(response) and rita().check_password(value)
        return
    if kind == "nul":
        assert response.status_code == 400 and NUL_REFUSED in response.content.decode()
        assert rita().check_password(PASSWORD)
        return
    assert response.status_code == 200, kind
    error = field_error(response.content.decode(), "new_password1")
    if kind == "empty":
        assert "Type a new password." in error
    if kind == "5000":
        assert TOO_LONG in error
    assert rita().check_password(PASSWORD)


def test_a_200_character_passphrase_can_be_set_at_reset_and_at_change(proven, client):
    response = proven.post(
        "/passwordreset/finish/", {"new_password1": PASSPHRASE, "new_password2": PASSPHRASE}
    )
    assert shows_done_page(response)
    assert rita().check_password(PASSPHRASE)
    assert sign_in(client, "rita", PASSPHRASE).status_code == 302
    longest = (PASSPHRASE * 6)[:MAX_LENGTH]
    response = client.post(
        "/ssprsetup/password/",
        {"current_password": PASSPHRASE, "new_password1": longest, "new_password2": longest},
    )
    assert response.status_code == 302
    assert rita().check_password(longest)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/ssprsetup/signin/", "password"),
        ("/admin/login/", "password"),
        ("/ssprsetup/confirm-password/", "password"),
        ("/ssprsetup/password/", "current_password"),
    ],
)
def test_an_overlong_password_is_refused_at_the_field_before_it_is_checked(
    rita_signed_in, url, field
):
    client = Client() if url in ("/ssprsetup/signin/", "/admin/login/") else rita_signed_in
    response = client.post(url, {"username": "rita", field: "z" * 5000})
    assert response.status_code == 200
    page = response.content.decode()
    assert TOO_LONG in page
    if url != "/admin/login/":  # the admin's sign-in lists its errors above the form
        assert TOO_LONG in field_error(page, field)


def test_an_administrator_setting_an_overlong_password_is_told_its_length_only(
    admin_client, make_user
):
    """The admin's password page runs every validator: an overlong password is refused for its
    length, not also judged for how easy it is to guess (docs/security.md §44)."""
    person = make_user("sam")
    long = "a" * 1030  # judged, it would also be easy to guess
    response = admin_client.post(
        f"/admin/auth/user/{person.pk}/password/",
        {"password1": long, "password2": long, "usable_password": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "at most 1024 characters" in page
    assert "This password is easy to guess" not in page
    person.refresh_from_db()
    assert not person.check_password(long)


# --- The meter says what the form will say -----------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Rita-lantern-violin-quartz-harbour", "contains your username or your name"),
        ("r1ta.quartz.harbour.violin", "contains your username or your name"),
        ("Acme-lantern-violin-quartz", "contains a word your organisation does not allow"),
        ("a1b2c3", "too short"),
    ],
)
def test_the_meter_never_praises_a_password_the_form_refuses(
    rita_signed_in, proven, password, reason
):
    from passwords.models import BannedWord

    BannedWord.objects.create(word="Acme")
    for client, url in (
        (rita_signed_in, "/ssprsetup/password/strength/"),
        (proven, "/passwordreset/finish/strength/"),
    ):
        answer = client.post(url, {"password": password}).json()
        assert answer["accepted"] is False, (url, password)
        assert answer["label"].startswith("Not accepted: ") and reason in answer["label"]
    # ... and the form refuses it, as the meter said.
    response = rita_signed_in.post(
        "/ssprsetup/password/",
        {"current_password": PASSWORD, "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 200 and rita().check_password(PASSWORD)


def test_the_meter_praises_what_the_form_accepts(rita_signed_in):
    answer = rita_signed_in.post(
        "/ssprsetup/password/strength/", {"password": "quartz-lantern-violin-harbour"}
    ).json()
    assert answer["accepted"] is True and answer["reasons"] == []
    assert answer["label"] in ("Strong", "Very strong")
