"""Scope, reconfirmation, flagging stale registrations and the sign-in interrupt."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from policy.models import Scope
from registration.models import Registration
from tests.support.people import PASSWORD, sign_in
from tests.support.registering import questions_data, register_email, register_phone

pytestmark = pytest.mark.django_db


def register_fully(client: Client) -> None:
    register_phone(client)
    register_email(client)
    assert client.post("/ssprsetup/finish/").status_code == 302


# --- Scope ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", [Scope.NOBODY, Scope.GROUP])
def test_users_out_of_scope_see_a_plain_page_with_the_helpdesk(signed_in, policy, scope):
    policy.scope = scope
    policy.scope_group = Group.objects.create(name="pilot") if scope == Scope.GROUP else None
    policy.helpdesk_contact = "help@example.org"
    policy.save()
    for path in ("/ssprsetup/", "/ssprsetup/phone/", "/ssprsetup/questions/"):
        page = signed_in.get(path).content.decode()
        assert "has not turned on self-service password reset" in page
        assert "help@example.org" in page
    assert signed_in.post("/ssprsetup/phone/", {"number": "+447400123456"}).status_code == 200
    assert not Registration.objects.exists()


def test_group_members_are_in_scope(signed_in, user, policy):
    group = Group.objects.create(name="pilot")
    user.groups.add(group)
    policy.scope, policy.scope_group = Scope.GROUP, group
    policy.save()
    assert "Your recovery methods" in signed_in.get("/ssprsetup/").content.decode()


# --- Reconfirmation --------------------------------------------------------------------------


def test_stale_registration_asks_to_confirm_and_one_button_confirms(signed_in, user, policy):
    register_fully(signed_in)
    confirmations = Event.objects.filter(kind=EventKind.REGISTRATION_CONFIRMED).count()
    policy.reconfirm_days = 30
    policy.save()
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        signed_in.post("/ssprsetup/signin/", {"username": user.username, "password": PASSWORD})
        page = signed_in.get("/ssprsetup/").content.decode()
        assert "Is this information still correct?" in page
        response = signed_in.post("/ssprsetup/finish/", follow=True)
        assert "Your methods are confirmed" in response.content.decode()
        registration = Registration.objects.get(user=user)
        assert registration.last_confirmed_at > timezone.now() - timedelta(minutes=1)
        # One clear action: the confirmation button, and no second Finish beside it.
        assert page.count('action="/ssprsetup/finish/"') == 1
    count = Event.objects.filter(kind=EventKind.REGISTRATION_CONFIRMED).count()
    assert count == confirmations + 1


def test_reconfirmation_never_when_days_is_zero(signed_in, policy):
    register_fully(signed_in)
    policy.reconfirm_days = 0
    policy.save()
    with time_machine.travel(timezone.now() + timedelta(days=3000)):
        assert "still correct" not in signed_in.get("/ssprsetup/").content.decode()


def test_flag_stale_registrations_marks_only_old_ones_with_one_update(make_user, policy):
    now = timezone.now()
    old, fresh, unfinished = make_user("old"), make_user("fresh"), make_user("unfinished")
    Registration.objects.create(
        user=old, completed_at=now, last_confirmed_at=now - timedelta(days=200)
    )
    Registration.objects.create(
        user=fresh, completed_at=now, last_confirmed_at=now - timedelta(days=10)
    )
    Registration.objects.create(user=unfinished)
    out = io.StringIO()
    call_command("flag_stale_registrations", stdout=out)
    flagged = "Flagged 1 registration for reconfirmation (reconfirm after: 180 days)."
    assert flagged in out.getvalue()
    assert list(
        Registration.objects.filter(reconfirmation_required=True).values_list(
            "user__username", flat=True
        )
    ) == ["old"]
    event = Event.objects.get(kind=EventKind.REGISTRATION_FLAGGED)
    assert event.subject == old and event.details == {"reason": "stale"}
    # Running it again changes nothing.
    out = io.StringIO()
    call_command("flag_stale_registrations", stdout=out)
    assert "Flagged 0 registrations" in out.getvalue()


def test_flagged_user_is_asked_at_setup(signed_in, user):
    register_fully(signed_in)
    Registration.objects.filter(user=user).update(reconfirmation_required=True)
    assert "Is this information still correct?" in signed_in.get("/ssprsetup/").content.decode()
    signed_in.post("/ssprsetup/finish/")
    assert not Registration.objects.get(user=user).reconfirmation_required


def test_admin_action_requires_reconfirmation(admin_client, make_user):
    registered, never = make_user("reg"), make_user("never")
    now = timezone.now()
    Registration.objects.create(user=registered, completed_at=now, last_confirmed_at=now)
    response = admin_client.post(
        "/admin/auth/user/",
        {"action": "require_reconfirmation", "_selected_action": [registered.pk, never.pk]},
        follow=True,
    )
    assert "1 user must confirm" in response.content.decode()
    assert Registration.objects.get(user=registered).reconfirmation_required
    assert not Registration.objects.filter(user=never).exists()
    event = Event.objects.get(kind=EventKind.REGISTRATION_FLAGGED)
    assert event.actor == admin_client.admin and event.details == {"reason": "administrator"}


# --- Sign-in interrupt -----------------------------------------------------------------------


def admin_sign_in(client: Client, username: str) -> None:
    client.post("/admin/login/?next=/admin/", {"username": username, "password": PASSWORD})


@pytest.fixture
def staff(make_user):
    return make_user("staffer", staff=True)


def test_unregistered_user_is_sent_to_setup_after_sign_in_and_returns_after_finish(
    client, staff, policy
):
    policy.methods_required = 1
    policy.save()
    admin_sign_in(client, staff.username)
    response = client.get("/admin/")
    assert response["Location"] == "/ssprsetup/"
    page = client.get("/ssprsetup/").content.decode()
    assert "Please register before you continue" in page
    assert "3 times left to postpone" in page
    register_phone(client)
    # An administrator account needs two methods whatever the policy asks of others.
    assert client.get("/admin/")["Location"] == "/ssprsetup/"
    register_email(client)
    page = client.get("/ssprsetup/").content.decode()
    assert "You are registered" in page and ">Done<" in page and ">Finish<" not in page
    response = client.post("/ssprsetup/finish/")
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_skips_are_counted_and_run_out(client, staff, policy):
    policy.skips_allowed = 1
    policy.save()
    admin_sign_in(client, staff.username)
    assert client.get("/admin/")["Location"] == "/ssprsetup/"
    response = client.post("/ssprsetup/skip/")
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200  # not asked again in this session
    assert Registration.objects.get(user=staff).skips_used == 1

    client.post("/admin/logout/")
    admin_sign_in(client, staff.username)
    assert client.get("/admin/")["Location"] == "/ssprsetup/"
    page = client.get("/ssprsetup/").content.decode()
    assert "You cannot postpone this any more" in page
    response = client.post("/ssprsetup/skip/", follow=True)
    assert "You cannot postpone any more" in response.content.decode()
    assert client.get("/admin/")["Location"] == "/ssprsetup/"
    assert Registration.objects.get(user=staff).skips_used == 1
    assert Event.objects.filter(kind=EventKind.REGISTRATION_SKIPPED).count() == 1


def test_no_interrupt_when_the_policy_does_not_require_it(client, staff, policy):
    policy.require_registration_at_sign_in = False
    policy.save()
    admin_sign_in(client, staff.username)
    assert client.get("/admin/").status_code == 200
    # Nor does the overview ask it.
    assert (
        "Your organisation asks you to do this now"
        not in client.get("/ssprsetup/").content.decode()
    )


def test_no_interrupt_while_self_service_is_paused(client, staff):
    """Paused, nothing could be registered (and "Not now" is a change refused then): the
    person reaches the page they signed in for."""
    from methods.models import BlockReason, SelfServiceBlock

    SelfServiceBlock.objects.create(user=staff, reason=BlockReason.NOT_ME)
    admin_sign_in(client, staff.username)
    assert client.get("/admin/").status_code == 200
    page = client.get("/ssprsetup/").content.decode()
    assert "Self-service is paused for your account" in page
    assert "Please register before you continue" not in page


def test_no_interrupt_for_registered_users_or_out_of_scope(client, staff, policy):
    policy.scope = Scope.NOBODY
    policy.save()
    admin_sign_in(client, staff.username)
    assert client.get("/admin/").status_code == 200


def test_interrupt_returns_to_the_page_asked_for(client, staff):
    admin_sign_in(client, staff.username)
    client.get("/admin/auth/user/?q=x")
    response = client.post("/ssprsetup/skip/")
    assert response["Location"] == "/admin/auth/user/?q=x"


def test_static_files_and_sign_out_are_not_interrupted(client, staff):
    admin_sign_in(client, staff.username)
    assert client.get("/static/css/site.css").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.post("/admin/logout/")["Location"] == "/ssprsetup/signin/"  # signed out


def test_changing_language_is_not_interrupted(client, staff):
    admin_sign_in(client, staff.username)
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/admin/"})
    assert response["Location"] == "/admin/"
    assert client.cookies["django_language"].value == "de"


def test_skip_without_an_interrupt_does_nothing(signed_in, user):
    session = signed_in.session
    session.pop("sspr_check_registration", None)
    session.save()
    assert signed_in.post("/ssprsetup/skip/")["Location"] == "/ssprsetup/"
    assert not Registration.objects.filter(user=user, skips_used__gt=0).exists()


def test_signing_in_at_setup_offers_the_skip(client, user):
    sign_in(client, user.username)
    assert "times left to postpone" in client.get("/ssprsetup/").content.decode()
    register_fully(client)
    assert client.get("/ssprsetup/").status_code == 200
    assert "left to postpone" not in client.get("/ssprsetup/").content.decode()


def test_question_answers_still_saved_while_interrupted(signed_in, user):
    assert signed_in.post("/ssprsetup/questions/", questions_data(3)).status_code == 302
