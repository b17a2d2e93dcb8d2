"""Changing a known password at /ssprsetup/password/ (Django's own accounts)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from audit.models import Event, EventKind
from tests.support.people import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

NEW = "lighthouse-copper-kettle-2027"


def change(client: Client, current: str, new: str = NEW, again: str | None = None):
    return client.post(
        "/ssprsetup/password/",
        {"current_password": current, "new_password1": new, "new_password2": again or new},
    )


def test_the_overview_links_to_the_change_page(signed_in):
    assert 'href="/ssprsetup/password/"' in signed_in.get("/ssprsetup/").content.decode()


def test_the_page_lists_the_rules_before_typing(signed_in):
    page = signed_in.get("/ssprsetup/password/").content.decode()
    assert 'id="password-rules"' in page and "at least 12 characters" in page
    assert 'aria-describedby="password-rules"' in page  # read with the new password's box
    assert 'autocomplete="current-password"' in page and 'autocomplete="new-password"' in page


def test_a_change_keeps_this_session_ends_others_and_tells_the_person(client, user):
    sign_in(client, "alice")
    other = Client()
    sign_in(other, "alice")
    response = change(client, PASSWORD)
    assert response["Location"] == "/ssprsetup/"
    assert client.get("/ssprsetup/").status_code == 200  # still signed in here
    assert other.get("/ssprsetup/").status_code == 302  # signed out elsewhere
    user.refresh_from_db()
    assert user.check_password(NEW) and not user.check_password(PASSWORD)
    event = Event.objects.get(kind=EventKind.PASSWORD_CHANGED)
    assert event.subject == user and NEW not in str(event.details)
    assert mail.outbox[-1].subject == "Your password was changed"
    assert NEW not in mail.outbox[-1].body


def test_a_wrong_current_password_is_shown_at_its_field_and_changes_nothing(signed_in, user):
    page = change(signed_in, "not-my-password").content.decode()
    assert "That is not your current password." in page
    assert 'id="id_current_password" aria-invalid="true"' in page or (
        'aria-invalid="true"' in page and "id_current_password_error" in page
    )
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not Event.objects.filter(kind=EventKind.PASSWORD_CHANGED).exists()
    # Recorded as the failed sign-in it counts as, not as a refused new password.
    assert not Event.objects.filter(kind=EventKind.PASSWORD_REFUSED).exists()
    failed = Event.objects.get(kind=EventKind.SIGN_IN_FAILED, subject=user)
    assert failed.details == {"reason": "wrong_current"}


def test_five_wrong_current_passwords_stop_the_guessing(signed_in, user):
    for _ in range(5):
        assert change(signed_in, "guess-guess-guess").status_code == 200
    response = change(signed_in, PASSWORD)  # even the right one, for an hour
    assert response.status_code == 429
    assert "Too many wrong current passwords" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_sites_rules_apply_to_the_new_password(signed_in, user):
    page = change(signed_in, PASSWORD, new="short1").content.decode()
    assert "at least 12 characters" in page and 'aria-invalid="true"' in page
    page = change(signed_in, PASSWORD, new=NEW, again=NEW + "x").content.decode()
    assert "didn’t match" in page or "didn't match" in page
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_strength_meter_needs_a_signed_in_person(client, signed_in):
    assert Client().post("/ssprsetup/password/strength/", {"password": "x"}).status_code == 302
    answer = signed_in.post("/ssprsetup/password/strength/", {"password": NEW}).json()
    assert answer["score"] >= 3


def test_the_form_changes_only_the_signed_in_account(signed_in, make_user):
    import re

    bob = make_user("bob")
    page = signed_in.get("/ssprsetup/password/").content.decode()
    form = next(f for f in page.split("<form")[1:] if "current_password" in f).split("</form>")[0]
    names = set(re.findall(r'name="([^"]+)"', form))
    assert names == {"csrfmiddlewaretoken", "current_password", "new_password1", "new_password2"}
    # A username slipped into the post is ignored: it is alice's password that changes.
    signed_in.post(
        "/ssprsetup/password/",
        {
            "username": "bob",
            "current_password": PASSWORD,
            "new_password1": NEW,
            "new_password2": NEW,
        },
    )
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
    assert get_user_model().objects.get(username="alice").check_password(NEW)


def test_the_current_password_as_the_new_one_is_refused_at_its_field(signed_in, user):
    """Nothing would change: no change is recorded, no notice goes, no session ends."""
    other = Client()
    sign_in(other, "alice")
    mail.outbox.clear()
    page = change(signed_in, PASSWORD, PASSWORD).content.decode()
    assert "Choose a new password, not the one you have now." in page
    assert "id_new_password1_error" in page
    assert not Event.objects.filter(kind=EventKind.PASSWORD_CHANGED).exists()
    assert not mail.outbox
    assert other.get("/ssprsetup/").status_code == 200
