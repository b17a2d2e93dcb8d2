from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from tests.support.people import PASSWORD, sign_in

pytestmark = pytest.mark.django_db


def test_setup_pages_ask_to_sign_in_first(client):
    response = client.get("/ssprsetup/")
    assert response.status_code == 302
    assert response["Location"].startswith("/ssprsetup/signin/?next=/ssprsetup/")


def test_sign_in_page_labels_username_and_password(client):
    page = client.get("/ssprsetup/signin/").content.decode()
    assert '<label for="id_username">Username:</label>' in page
    assert '<label for="id_password">Password:</label>' in page


@pytest.mark.parametrize(
    ("path", "asked"),
    [
        (
            "/ssprsetup/signin/",
            {"username": "Type your username.", "password": "Type your password."},
        ),
        ("/admin/login/", {"username": "Type your username.", "password": "Type your password."}),
        ("/passwordreset/", {"username": "Type your username."}),
        (
            "/ssprsetup/pass/",
            {
                "username": "Type your username.",
                "access_pass": "Type the temporary access pass the helpdesk gave you.",
            },
        ),
    ],
)
def test_an_empty_sign_in_asks_for_each_box_by_name(client, path, asked):
    page = client.post(path, {"username": "", "password": "", "access_pass": ""}).content.decode()
    for name, message in asked.items():
        assert message in page, name
    assert "This field is required" not in page


def test_signing_in_rotates_the_session_key(client, user):
    client.get("/ssprsetup/signin/")
    client.session.save()
    before = client.session.session_key
    response = sign_in(client, user.username)
    assert response.status_code == 302
    assert client.session.session_key != before


def test_wrong_password_gets_a_message_and_no_session(client, user):
    response = client.post("/ssprsetup/signin/", {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "username or password is not right" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Neither box alone is wrong: both are marked, and described by the error summary.
    page = response.content.decode()
    for name in ("username", "password"):
        box = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        assert 'aria-invalid="true"' in box and "error-summary" in box
    assert 'id="error-summary"' in page
    # The title says so first, as a screen reader reads it when the page opens.
    assert "<title>Error: Sign in · Self-service password reset</title>" in page
    # A form not refused marks nothing.
    fresh = client.get("/ssprsetup/signin/").content.decode()
    assert "aria-invalid" not in fresh and "error-summary" not in fresh
    assert "<title>Sign in · Self-service password reset</title>" in fresh


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/ssprsetup/questions/", "/ssprsetup/questions/"),
        ("https://evil.example/steal", "/ssprsetup/"),
        ("//evil.example/steal", "/ssprsetup/"),
        ("javascript:alert(1)", "/ssprsetup/"),
    ],
)
def test_next_only_leads_to_this_site(client, user, next_url, expected):
    response = client.post(
        "/ssprsetup/signin/",
        {"username": user.username, "password": PASSWORD, "next": next_url},
    )
    assert response["Location"] == expected


def test_sign_out_ends_the_session(signed_in: Client):
    assert signed_in.get("/ssprsetup/").status_code == 200
    response = signed_in.post("/ssprsetup/signout/")
    assert response.status_code == 302
    assert signed_in.get("/ssprsetup/").status_code == 302


def test_sign_out_says_so_on_the_sign_in_page(signed_in: Client):
    response = signed_in.post("/ssprsetup/signout/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/ssprsetup/signin/")
    assert "You have signed out." in page
    # Once only, and not for someone who was not signed in.
    assert "You have signed out." not in signed_in.get("/ssprsetup/signin/").content.decode()
    again = signed_in.post("/ssprsetup/signout/", follow=True).content.decode()
    assert "You have signed out." not in again


def test_sign_out_needs_post(signed_in: Client):
    assert signed_in.get("/ssprsetup/signout/").status_code == 405


def test_both_sign_in_pages_point_to_the_reset_portal(client):
    page = client.get("/ssprsetup/signin/").content.decode()
    assert 'href="/passwordreset/"' in page and "Forgot your password" in page
    admin_page = client.get("/admin/login/").content.decode()
    assert 'href="/admin/password_reset/"' in admin_page
    # A heading names the admin's sign-in page too (a screen reader's list of headings).
    assert "<h1>Sign in</h1>" in admin_page
    assert client.get("/admin/password_reset/")["Location"] == "/passwordreset/"


def test_the_locked_out_page_carries_the_username_to_the_portal(client, user):
    for _ in range(5):
        client.post("/ssprsetup/signin/", {"username": user.username, "password": "wrong"})
    response = client.post("/ssprsetup/signin/", {"username": user.username, "password": "x"})
    assert response.status_code == 429
    assert 'href="/passwordreset/?username=alice&amp;action=unlock"' in response.content.decode()
    start = client.get("/passwordreset/?username=alice&action=unlock").content.decode()
    assert 'name="username" value="alice"' in start
    # What the person needs is chosen for them: the unlock.
    assert re.search(r'<input type="radio" name="action" value="unlock"[^>]* checked>', start)


def test_a_sign_in_is_kept_in_the_audit_log_alone(client, user):
    """The audit log (purged with purge_audit) records each sign-in; django-axes's own access
    log, which would keep each one's address and browser again with no purge, stays empty."""
    from axes.models import AccessLog

    from audit.models import Event, EventKind

    assert sign_in(client, user.username).status_code == 302
    assert Event.objects.filter(kind=EventKind.SIGNED_IN, subject=user).count() == 1
    assert not AccessLog.objects.exists()


def test_a_session_from_before_the_upgrade_signs_in_again(client, user):
    """Sessions opened with Django's own password backend, as before sspr_site.auth_backends
    (README, "Deploying"): the person is asked to sign in again, nothing breaks."""
    sign_in(client, user.username)
    session = client.session
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session.save()
    response = client.get("/ssprsetup/")
    assert response.status_code == 302
    assert response["Location"].startswith("/ssprsetup/signin/")
    assert sign_in(client, user.username).status_code == 302
    assert client.get("/ssprsetup/").status_code == 200


def test_the_code_binding_is_made_at_sign_in(make_user):
    """Two code sends at once later (a double press, two tabs) read the one binding signed in
    with: made lazily, each would make its own, and the code sent could be bound to the one
    the session did not keep."""
    from methods.code.flows import SESSION_BINDING_KEY

    make_user("rita")
    client = Client()
    sign_in(client, "rita")
    binding = client.session.get(SESSION_BINDING_KEY)
    assert binding
    client.post("/ssprsetup/phone/", {"region": "GB", "number": "07400 123456", "channel": "sms"})
    assert client.session[SESSION_BINDING_KEY] == binding  # the send made none of its own


def test_on_the_way_to_the_helpdesk_the_sign_in_page_says_so():
    page = Client().get("/helpdesk/", follow=True).content.decode()
    assert "<h1>Sign in to the helpdesk</h1>" in page
    assert "Register for password reset" not in page
    assert (
        "<h1>Register for password reset</h1>"
        in Client().get("/ssprsetup/signin/").content.decode()
    )


def test_a_sign_in_held_back_by_the_address_limit_marks_no_box(client, user, settings):
    """The address's limit is no fault of what was typed: no box is marked invalid."""
    settings.SSPR_SIGN_IN_FAILURES_PER_IP = 1
    client.post("/ssprsetup/signin/", {"username": user.username, "password": "nope"})
    response = client.post("/ssprsetup/signin/", {"username": user.username, "password": PASSWORD})
    page = response.content.decode()
    assert response.status_code == 429 and 'id="error-summary"' in page
    for name in ("username", "password"):
        box = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        assert "aria-invalid" not in box


def test_the_address_limit_counts_the_last_sixty_minutes(client, settings):
    """Failures at the end of one hour and the start of the next are one hour's: past the limit
    nothing is tried until the failures that reached it are an hour old. Counted from the
    first failure, three more were tried a second after that hour ended."""
    import time_machine
    from django.utils import timezone

    settings.SSPR_SIGN_IN_FAILURES_PER_IP = 3
    start = timezone.now()

    def fail(at: int) -> int:
        with time_machine.travel(start + timedelta(seconds=at), tick=False):
            # A name of its own each time, as a spray: no name's own lockout comes first.
            data = {"username": f"nobody{at}", "password": "nope"}
            return client.post("/ssprsetup/signin/", data).status_code

    assert [fail(0), fail(3590), fail(3591)] == [200, 200, 200]
    assert [fail(3601), fail(3602)] == [200, 429]  # the first failure is an hour old
    assert fail(3620) == 429
    assert fail(3600 + 3591) == 200  # the last two an hour old too
