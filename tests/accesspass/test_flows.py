"""Temporary access passes (the README's "Temporary access pass"): issued by the helpdesk after
a recorded check, shown once, kept as a keyed hash, used to sign in at /ssprsetup/pass/,
register methods and set a new password; one per person; never for oneself."""

from __future__ import annotations

import datetime
import io
import re

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accesspass.forms import PassSignInForm
from accesspass.models import ALPHABET, AccessPass, EndReason
from audit.models import Event, EventKind
from methods.models import AuthenticationEmail
from policy.models import Policy
from registration.forms import SignInForm
from tests.support.access_passes import PASS_PATTERN, issue, the_pass, use_pass
from tests.support.codes import last_email_code
from tests.support.people import PASSWORD, sign_in
from tests.support.registering import shows_code_page
from tests.support.resets import start_reset

pytestmark = pytest.mark.django_db

WRONG = str(PassSignInForm.error_messages["invalid_login"])


def test_an_agent_issues_a_pass_and_the_person_signs_in_with_it(desk, agent, user):
    response = issue(desk, user)
    assert response.status_code == 200
    value = the_pass(response)
    assert response["Cache-Control"].startswith("max-age=0")
    # At least 60 bits from an alphabet without look-alikes.
    letters = value.replace("-", "")
    assert len(letters) * 4.95 >= 60 and set(letters) <= set(ALPHABET)
    assert not set("01OIL") & set(letters)
    item = AccessPass.objects.get(user=user)
    assert item.digest and value not in item.digest and letters not in item.digest
    assert item.requested_by == agent and item.verification == "in_person"
    assert item.expires_at - item.issued_at == datetime.timedelta(hours=1)
    # The notice names no pass.
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    assert "temporary access pass" in mail.outbox[0].subject
    assert letters[:8] not in mail.outbox[0].body

    person = Client()
    response = use_pass(person, "alice", value.lower().replace("-", " "))
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/pass/welcome/"
    assert person.get("/ssprsetup/").status_code == 200
    kinds = list(Event.objects.filter(subject=user).values_list("kind", flat=True))
    assert EventKind.ACCESS_PASS_ISSUED in kinds and EventKind.ACCESS_PASS_USED in kinds
    assert EventKind.SIGNED_IN in kinds
    assert len(mail.outbox) == 2 and "signed in" in mail.outbox[1].subject


def test_a_single_use_pass_signs_in_once(desk, user):
    value = the_pass(issue(desk, user))
    assert use_pass(Client(), "alice", value).status_code == 302
    second = use_pass(Client(), "alice", value)
    assert second.status_code == 200
    assert WRONG in second.content.decode()
    assert AccessPass.objects.get(user=user).uses == 1


def test_a_reusable_pass_works_until_it_expires(desk, user, policy):
    policy.access_pass_single_use = False
    policy.access_pass_lifetime_minutes = 30
    policy.save()
    value = the_pass(issue(desk, user))
    assert use_pass(Client(), "alice", value).status_code == 302
    assert use_pass(Client(), "alice", value).status_code == 302
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=31)):
        refused = use_pass(Client(), "alice", value)
    assert refused.status_code == 200 and WRONG in refused.content.decode()


def test_a_wrong_pass_reads_the_same_for_every_name_and_counts_toward_the_lockout(
    desk, user, settings
):
    value = the_pass(issue(desk, user))
    password_page = sign_in(Client(), "alice", "not-the-password").content.decode()
    assert str(SignInForm.error_messages["invalid_login"]) in password_page
    assert WRONG in use_pass(Client(), "nobody-at-all", "ABCD-EFGH-JKMN-PQRS").content.decode()
    for _ in range(settings.SSPR_LOCKOUT_FAILURES):
        response = use_pass(Client(), "alice", "ABCD-EFGH-JKMN-PQRS")
        if response.status_code == 200:
            assert WRONG in response.content.decode()
    # Locked out by name: even the right pass is refused now, and it is not spent.
    locked = use_pass(Client(), "alice", value)
    assert locked.status_code == 429
    assert AccessPass.objects.get(user=user).uses == 0
    assert Event.objects.filter(subject=user, kind=EventKind.SIGN_IN_FAILED).count() >= 5


def test_a_pass_issued_for_a_name_locked_here_clears_the_lock(desk, user, settings):
    """The person locked their own name with wrong passwords and called the helpdesk: the pass
    they are given, after the helpdesk checked who they are, signs them in."""
    for _ in range(settings.SSPR_LOCKOUT_FAILURES):
        sign_in(Client(), "alice", password="wrong-password")
    assert sign_in(Client(), "alice").status_code == 429  # locked here
    value = the_pass(issue(desk, user))
    response = use_pass(Client(), "alice", value)
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/pass/welcome/"
    issued = Event.objects.get(kind=EventKind.ACCESS_PASS_ISSUED)
    assert issued.details["lockout_cleared"] is True


def test_failures_from_one_address_are_limited_like_sign_in(desk, user, settings):
    settings.SSPR_SIGN_IN_FAILURES_PER_IP = 2
    value = the_pass(issue(desk, user))
    client = Client()
    for name in ("nobody-1", "nobody-2"):
        assert use_pass(client, name, value).status_code == 200
    assert use_pass(client, "alice", value).status_code == 429
    assert AccessPass.objects.get(user=user).uses == 0


def test_a_pass_far_too_long_is_refused_with_words_about_a_pass(client, user):
    """Not Django's "at most 64 characters (it has 5000)", and nothing about passwords."""
    page = use_pass(client, "alice", "X" * 5000).content.decode()
    assert "A temporary access pass is much shorter than that" in page
    assert "password" not in page.split('class="errorlist')[1].split("</ul>")[0].lower()
    assert "it has 5000" not in page


def test_a_pass_for_an_unknown_name_or_another_person_reads_the_same(desk, user, make_user):
    make_user("bob")
    value = the_pass(issue(desk, user))
    for name in ("bob", "nobody"):
        response = use_pass(Client(), name, value)
        assert response.status_code == 200 and WRONG in response.content.decode()


def test_a_wrong_pass_costs_the_same_queries_for_every_name(desk, user, make_user):
    """An unknown name, a person without a pass and one with a pass: a wrong pass reads the
    same and makes the same queries (before, an unknown name skipped the pass's lookup)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_user("bob")
    the_pass(issue(desk, user))
    counts = {}
    for name in ("nobody", "bob", "alice"):
        with CaptureQueriesContext(connection) as queries:
            response = use_pass(Client(), name, "ABCD-EFGH-JKMN-PQRS")
        assert response.status_code == 200 and WRONG in response.content.decode()
        counts[name] = len(queries)
    assert counts["nobody"] == counts["bob"] == counts["alice"]


def test_never_for_the_issuers_own_account(desk, agent, user):
    # Their own page offers no pass (it would only be refused); another's does.
    own = desk.get(f"/helpdesk/users/{agent.pk}/")
    assert own.status_code == 200
    assert f"/helpdesk/pass/users/{agent.pk}/" not in own.content.decode()
    other = desk.get(f"/helpdesk/users/{user.pk}/").content.decode()
    assert f"/helpdesk/pass/users/{user.pk}/" in other
    assert desk.get(f"/helpdesk/pass/users/{agent.pk}/").status_code == 403
    response = issue(desk, agent)
    assert response.status_code == 403
    assert "own account" in response.content.decode()
    assert not AccessPass.objects.exists()


def test_the_flow_itself_refuses_the_issuers_own_account(agent):
    """Not only the page: whatever calls the flow (the command, a later page) is refused."""
    from accesspass import flows

    with pytest.raises(flows.Refused):
        flows.request_pass(
            request=None, user=agent, agent=agent, verification="in_person", note="Me"
        )
    assert not AccessPass.objects.exists()


def test_two_requests_that_both_saw_no_pass_open_one(agent, user):
    """Two agents' pages (or two tabs) both showed no pass and are sent at the same moment:
    the flow reads the open pass under a lock on the person, so the second finds the first's
    and ends nothing; it says why. A pass shown, and ended since, is no reason to refuse."""
    from accesspass import flows

    def ask(replaces):
        return flows.request_pass(
            request=None,
            user=user,
            agent=agent,
            verification="in_person",
            note="At the desk",
            replaces=replaces,
        )

    first = ask(None)
    with pytest.raises(flows.Refused) as refused:
        ask(None)
    assert refused.value.message == flows.OPENED_MEANWHILE
    assert list(AccessPass.objects.filter(ended_at__isnull=True)) == [first]
    second = ask(first.pk)  # the page that showed it replaces it
    first.refresh_from_db()
    assert first.ended_at is not None and second.ended_at is None
    AccessPass.objects.filter(pk=second.pk).update(ended_at=timezone.now())
    assert ask(second.pk).ended_at is None  # shown, ended meanwhile: nothing to end


def test_a_pass_past_its_time_is_not_spent_even_if_a_sweep_missed_it(desk, user):
    """The last check, at the sign-in's conditional update: a pass whose time is up is not
    counted, whether or not the sweep that ends passes has run."""
    from accesspass import flows

    the_pass(issue(desk, user))
    item = AccessPass.objects.get(user=user)
    assert item.ended_at is None
    after = item.expires_at + datetime.timedelta(seconds=1)
    assert flows.spend(item, now=after) is False
    item.refresh_from_db()
    assert item.uses == 0 and item.digest
    assert flows.spend(item, now=item.expires_at - datetime.timedelta(seconds=1)) is True


def test_how_the_caller_was_verified_is_required(desk, user):
    response = desk.post(f"/helpdesk/pass/users/{user.pk}/", {"verification": "", "note": " "})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Choose how you verified the person." in page
    assert "Write a note about how you verified the person." in page
    # A caller check that did not happen in this session cannot be named.
    response = issue(desk, user, verification="caller_check")
    assert "No caller check passed for this person" in response.content.decode()
    response = issue(desk, user, verification="made-up")
    assert response.status_code == 200
    assert not AccessPass.objects.exists()
    assert not mail.outbox


def test_a_caller_check_that_passed_in_this_session_can_be_named(desk, user):
    from methods.models import AuthenticationEmail

    AuthenticationEmail.objects.create(
        user=user, email="alice.home@example.net", verified_at=timezone.now()
    )
    desk.post(f"/helpdesk/users/{user.pk}/verify/", {"method": "email"})
    desk.post(f"/helpdesk/users/{user.pk}/verify/code/", {"code": last_email_code()})
    mail.outbox.clear()
    response = issue(desk, user, verification="caller_check", note="Read back the code")
    the_pass(response)
    item = AccessPass.objects.get(user=user)
    assert item.verification == "caller_check" and item.check_method == "authentication_email"
    # The check is spent with the pass: the next one needs a new check, and the form says so.
    again = issue(desk, user, verification="caller_check").content.decode()
    assert "A pass was asked for on this caller check already" in again
    assert f'<a href="/helpdesk/users/{user.pk}/verify/">Verify the caller first</a>' in again
    assert AccessPass.objects.filter(user=user).count() == 1


def test_a_caller_check_counts_for_fifteen_minutes(desk, user):
    """A check from an earlier call cannot be named for a pass: it counts for 15 minutes."""
    from methods.models import AuthenticationEmail

    AuthenticationEmail.objects.create(
        user=user, email="alice.home@example.net", verified_at=timezone.now()
    )
    desk.post(f"/helpdesk/users/{user.pk}/verify/", {"method": "email"})
    desk.post(f"/helpdesk/users/{user.pk}/verify/code/", {"code": last_email_code()})
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=15), tick=False):
        response = issue(desk, user, verification="caller_check")
    assert "No caller check passed for this person" in response.content.decode()
    assert not AccessPass.objects.exists()
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=14), tick=False):
        the_pass(issue(desk, user, verification="caller_check", note="Read back the code"))
    assert AccessPass.objects.get(user=user).verification == "caller_check"


def test_a_new_pass_replaces_the_old_one(desk, user):
    first = the_pass(issue(desk, user))
    second = the_pass(issue(desk, user))
    assert first != second
    assert WRONG in use_pass(Client(), "alice", first).content.decode()
    assert use_pass(Client(), "alice", second).status_code == 302
    old = AccessPass.objects.filter(user=user).order_by("pk").first()
    assert old.end_reason == EndReason.REPLACED and old.digest is None
    assert AccessPass.objects.filter(user=user, ended_at__isnull=True).count() == 1
    # Its end is an event, as every other end of a pass is; the helpdesk reads it in words.
    ended = Event.objects.get(kind=EventKind.ACCESS_PASS_EXPIRED, subject=user)
    assert ended.details["pass_id"] == old.pk and ended.details["reason"] == "pass_replaced"
    assert "Replaced by a newer pass" in desk.get(f"/helpdesk/users/{user.pk}/").content.decode()


def test_the_persons_notices_are_in_their_language_not_the_agents(desk, user):
    """The agent's page is in English; the person chose German here: the notices of the pass
    issued and of the sign-in with it are in German (README, "Languages")."""
    from registration.language import remember

    remember(user, "de")
    value = the_pass(issue(desk, user))
    issued = mail.outbox[-1]
    assert issued.subject == "Für Ihr Konto wurde ein befristeter Zugriffspass ausgestellt"
    use_pass(Client(HTTP_ACCEPT_LANGUAGE="en"), "alice", value)
    used = mail.outbox[-1]
    assert used.subject.startswith("Jemand hat sich mit einem befristeten"), used.subject


def test_the_same_issue_form_sent_again_issues_nothing_new(desk, user):
    """A reload of the page that showed the pass sends its form again: the pass just shown
    stays the one that works, and the page says nothing new was issued."""
    page = desk.get(f"/helpdesk/pass/users/{user.pk}/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {"verification": "in_person", "note": "Saw her staff card", "form_token": token}
    value = the_pass(desk.post(f"/helpdesk/pass/users/{user.pk}/", data))
    again = desk.post(f"/helpdesk/pass/users/{user.pk}/", data, follow=True)
    text = again.content.decode()
    assert "This form was sent already" in text and not PASS_PATTERN.search(text)
    assert "Shown; the pass works until" in text
    assert AccessPass.objects.filter(user=user).count() == 1
    assert len(mail.outbox) == 1  # one "issued" notice
    assert use_pass(Client(), "alice", value).status_code == 302
    # A fresh form issues a new pass, as before.
    page = desk.get(f"/helpdesk/pass/users/{user.pk}/").content.decode()
    fresh = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    replaces = re.search(r'name="replaces" value="([^"]*)"', page).group(1)
    assert fresh != token
    assert the_pass(
        desk.post(
            f"/helpdesk/pass/users/{user.pk}/",
            {**data, "form_token": fresh, "replaces": replaces},
        )
    )


def test_a_pass_given_in_another_tab_is_not_ended_by_this_ones_form(desk, user):
    """Two tabs on the issue page: the first issues a pass, which the agent reads out. The
    second, sent after, issues nothing and says why; the first pass still works. Sent again
    from the page it shows, which names the pass, it replaces it, as a new pass does."""
    first_tab = desk.get(f"/helpdesk/pass/users/{user.pk}/").content.decode()
    second_tab = desk.get(f"/helpdesk/pass/users/{user.pk}/").content.decode()

    def form_of(page: str, note: str) -> dict:
        return {
            "verification": "in_person",
            "note": note,
            "form_token": re.search(r'name="form_token" value="([^"]+)"', page).group(1),
            "replaces": re.search(r'name="replaces" value="([^"]*)"', page).group(1),
        }

    value = the_pass(desk.post(f"/helpdesk/pass/users/{user.pk}/", form_of(first_tab, "one")))
    refused = desk.post(f"/helpdesk/pass/users/{user.pk}/", form_of(second_tab, "two"))
    text = refused.content.decode()
    assert "Nothing was issued: this person was given a pass after this page was opened" in text
    assert "The person already has a pass that works until" in text
    # The page's button now says what sending it again does.
    assert ">Replace the pass</button>" in text and "Issue the pass" not in text
    assert not PASS_PATTERN.search(text)
    assert AccessPass.objects.filter(user=user).count() == 1
    assert use_pass(Client(), "alice", value).status_code == 302
    again = desk.post(f"/helpdesk/pass/users/{user.pk}/", form_of(text, "two, knowingly"))
    assert the_pass(again) != value


def test_the_lifetime_comes_from_the_policy_within_ten_minutes_and_eight_hours(desk, user, policy):
    policy.access_pass_lifetime_minutes = 10
    policy.save()
    the_pass(issue(desk, user))
    item = AccessPass.objects.get(user=user)
    assert item.expires_at - item.issued_at == datetime.timedelta(minutes=10)
    for minutes in (9, 481):
        policy.access_pass_lifetime_minutes = minutes
        with pytest.raises(ValidationError) as error:
            policy.full_clean()
        assert "access_pass_lifetime_minutes" in error.value.message_dict


def test_the_policy_form_offers_the_pass_settings(admin_client):
    from tests.registration.test_admin import policy_form

    page = admin_client.get("/admin/policy/policy/1/change/").content.decode()
    assert 'name="access_pass_lifetime_minutes"' in page
    assert 'name="access_pass_single_use"' in page
    response = admin_client.post(
        "/admin/policy/policy/1/change/", policy_form(access_pass_lifetime_minutes="481")
    )
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 480." in response.content.decode()
    assert Policy.objects.get().access_pass_lifetime_minutes == 60
    response = admin_client.post(
        "/admin/policy/policy/1/change/",
        policy_form(access_pass_lifetime_minutes="120", access_pass_single_use=None),
    )
    assert response.status_code == 302
    policy = Policy.objects.get()
    assert policy.access_pass_lifetime_minutes == 120 and not policy.access_pass_single_use


def test_the_helpdesk_user_page_links_to_the_pass(desk, user):
    page = desk.get(f"/helpdesk/users/{user.pk}/").content.decode()
    assert f"/helpdesk/pass/users/{user.pk}/" in page


def test_people_outside_the_helpdesk_cannot_issue(user, make_user):
    from tests.support.people import past_sign_in_check

    other = past_sign_in_check(Client(), make_user("mallory"))
    assert issue(other, user).status_code == 403
    assert not AccessPass.objects.exists()


# --- Expiry ------------------------------------------------------------------------------------


def test_a_pass_expires_and_its_expiry_is_audited_once(desk, user):
    value = the_pass(issue(desk, user))
    later = timezone.now() + datetime.timedelta(minutes=61)
    with time_machine.travel(later):
        assert WRONG in use_pass(Client(), "alice", value).content.decode()
        use_pass(Client(), "alice", value)
    item = AccessPass.objects.get(user=user)
    assert item.end_reason == EndReason.EXPIRED and item.digest is None
    assert Event.objects.filter(subject=user, kind=EventKind.ACCESS_PASS_EXPIRED).count() == 1


def test_a_session_made_with_a_pass_ends_when_the_pass_does(desk, user):
    value = the_pass(issue(desk, user))
    person = Client()
    use_pass(person, "alice", value)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=59)):
        assert person.get("/ssprsetup/").status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=61)):
        # Signed out: the session store expired it (the sign-in page), or a store that still
        # holds it (Redis counts its own time) handed it to the pass middleware, which ends it
        # (the pass page). Either way the next request is not signed in.
        response = person.get("/ssprsetup/")
        assert response.status_code == 302
        assert response["Location"].startswith(("/ssprsetup/signin/", "/ssprsetup/pass/"))
        again = person.get("/ssprsetup/")
        assert again.status_code == 302 and again["Location"].startswith("/ssprsetup/signin/")
        # The expiry is recorded by the next sweep (any pass page, or expire_access_passes).
        call_command("expire_access_passes", stdout=io.StringIO())
        call_command("expire_access_passes", stdout=io.StringIO())
    assert Event.objects.filter(subject=user, kind=EventKind.ACCESS_PASS_EXPIRED).count() == 1


def test_a_pass_session_ends_when_a_new_pass_replaces_its_pass(desk, user):
    """An agent who issued a pass for the wrong person issues the right one: the first pass's
    session is signed out at its next request and sets no password, changes nothing."""
    first = the_pass(issue(desk, user))
    person = Client()
    use_pass(person, "alice", first)
    assert person.get("/ssprsetup/pass/welcome/").status_code == 200
    the_pass(issue(desk, user))
    response = person.post(
        "/ssprsetup/pass/password/",
        {"new_password1": "violet-harbour-quartz-7", "new_password2": "violet-harbour-quartz-7"},
        follow=True,
    )
    assert response.redirect_chain[0] == ("/ssprsetup/pass/", 302)
    assert "Your temporary access pass was ended, so you were signed out." in (
        response.content.decode()
    )
    user.refresh_from_db()
    assert not user.check_password("violet-harbour-quartz-7")
    assert person.get("/ssprsetup/")["Location"].startswith("/ssprsetup/signin/")


def test_a_pass_session_still_open_past_the_pass_is_signed_out(desk, user):
    """Where the session outlived its expiry (a store that keeps it), the middleware ends it."""
    person = Client()
    use_pass(person, "alice", the_pass(issue(desk, user)))
    session = person.session
    session["sspr_access_pass"]["until"] = int(timezone.now().timestamp()) - 1
    session.save()
    response = person.get("/ssprsetup/")
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/pass/"
    assert "_auth_user_id" not in person.session


def test_the_session_cookie_ends_with_the_pass(desk, user):
    value = the_pass(issue(desk, user))
    person = Client()
    use_pass(person, "alice", value)
    item = AccessPass.objects.get(user=user)
    ends = person.session.get_expiry_date()
    assert abs((ends - item.expires_at).total_seconds()) < 2


# --- With the pass ------------------------------------------------------------------------------


@pytest.fixture
def with_pass(desk, user) -> Client:
    person = Client()
    assert use_pass(person, "alice", the_pass(issue(desk, user))).status_code == 302
    mail.outbox.clear()
    return person


def test_the_pass_counts_as_the_recent_password_for_methods(with_pass, user):
    # Past the ten minutes a password check lasts, still within the pass.
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=25)):
        response = with_pass.post("/ssprsetup/email/", {"email": "alice.home@example.net"})
        assert shows_code_page(response, "email")  # no password asked for first
        code = last_email_code()
        response = with_pass.post("/ssprsetup/email/verify/", {"code": code})
        assert response.status_code == 302
    assert user.authentication_email.verified_at is not None


def test_a_pass_session_reaches_only_the_registration_pages(with_pass, user):
    user.is_staff = True  # even a staff account (the pass was issued before it became one)
    user.save()
    for path in ("/helpdesk/", "/admin/", "/passwordreset/"):
        response = with_pass.get(path)
        assert response.status_code == 302 and response["Location"] == "/ssprsetup/", path


def test_a_new_password_without_the_old_one(with_pass, user, make_user):
    other_session = Client()
    assert sign_in(other_session, "alice").status_code == 302
    response = with_pass.get("/ssprsetup/password/")
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/pass/password/"
    page = with_pass.get("/ssprsetup/pass/password/").content.decode()
    assert "Current password" not in page and 'id="password-rules"' in page
    # The site's validators: refused next to the field, nothing changed.
    response = with_pass.post(
        "/ssprsetup/pass/password/", {"new_password1": "short", "new_password2": "short"}
    )
    assert response.status_code == 200
    assert "This password is too short" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    new = "Lighthouse-copper-kettle-2027"
    response = with_pass.post(
        "/ssprsetup/pass/password/", {"new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/"
    user.refresh_from_db()
    assert user.check_password(new)
    assert with_pass.get("/ssprsetup/").status_code == 200  # this session goes on
    assert other_session.get("/ssprsetup/").status_code == 302  # the others end
    event = Event.objects.get(subject=user, kind=EventKind.PASSWORD_RESET)
    assert event.details["via"] == "access_pass"
    assert mail.outbox and "changed" in mail.outbox[-1].subject


def _new_password_form(client: Client, new: str) -> dict:
    page = client.get("/ssprsetup/pass/password/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    return {"form_token": token, "new_password1": new, "new_password2": new}


def test_the_new_password_sent_again_says_it_was_set(with_pass, user):
    """A retry: the first copy set the password and gave the session a new key, so the copy
    sent again arrives signed out, and is told the password was set. A form from another
    page, or none, is not."""
    from tests.support.at_once import another_window

    again = another_window(with_pass)  # the same cookie, as the copy sent again carries it
    data = _new_password_form(with_pass, "Lighthouse-copper-kettle-2027")
    assert with_pass.post("/ssprsetup/pass/password/", data)["Location"] == "/ssprsetup/"
    second = again.post("/ssprsetup/pass/password/", data, follow=True)
    assert "Your new password is set. Sign in with it." in second.content.decode()
    assert second.redirect_chain[-1][0].startswith("/ssprsetup/signin/")
    user.refresh_from_db()
    assert user.check_password("Lighthouse-copper-kettle-2027")
    assert Event.objects.filter(subject=user, kind=EventKind.PASSWORD_RESET).count() == 1
    other = dict(data, form_token="another-form-token-0123456789")
    for stranger in (Client(), again):
        page = stranger.post("/ssprsetup/pass/password/", other, follow=True).content.decode()
        assert "is set" not in page


@pytest.mark.django_db(transaction=True)
def test_the_new_password_sent_twice_at_once_is_set_once(desk, user):
    """A double click: both copies come with the pass session; one sets the password, once,
    and the other says so."""
    from tests.support.at_once import another_window, at_once

    person = Client()
    assert use_pass(person, "alice", the_pass(issue(desk, user))).status_code == 302
    data = _new_password_form(person, "Lighthouse-copper-kettle-2027")
    windows = [person, another_window(person)]
    answers = at_once(lambda: windows.pop().post("/ssprsetup/pass/password/", data))
    # Both lead on to the overview, saying the password is set (the other copy waited for it).
    assert [(a.status_code, a["Location"]) for a in answers] == [(302, "/ssprsetup/")] * 2
    said = [str(m) for a in answers for m in a.wsgi_request._messages]
    assert said == ["Your new password is set. Use it from now on."] * 2
    assert Event.objects.filter(subject=user, kind=EventKind.PASSWORD_RESET).count() == 1
    notices = [m for m in mail.outbox if "changed" in m.subject]
    assert notices and len(notices) == len({m.to[0] for m in notices})  # one per address


def test_the_pass_password_page_needs_a_pass_session(signed_in):
    response = signed_in.get("/ssprsetup/pass/password/")
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/"
    assert Client().get("/ssprsetup/pass/password/").status_code == 302


def test_an_inactive_or_out_of_scope_person_cannot_use_a_pass(desk, user, policy):
    value = the_pass(issue(desk, user))
    policy.scope = "nobody"
    policy.save()
    assert WRONG in use_pass(Client(), "alice", value).content.decode()
    assert AccessPass.objects.get(user=user).uses == 0


def test_the_issue_page_for_someone_out_of_sight_is_not_found(desk, user, policy):
    user.is_active = False
    user.save()
    assert desk.get(f"/helpdesk/pass/users/{user.pk}/").status_code == 404


def test_the_pass_sign_in_page_is_accessible_markup(client):
    page = client.get("/ssprsetup/pass/").content.decode()
    assert '<label for="id_access_pass"' in page and 'autocomplete="one-time-code"' in page


def test_policy_defaults():
    policy = Policy.load()
    assert policy.access_pass_lifetime_minutes == 60 and policy.access_pass_single_use


def test_the_admin_lists_passes_without_their_hash(desk, user, admin_client):
    the_pass(issue(desk, user))
    item = AccessPass.objects.get(user=user)
    listing = admin_client.get("/admin/accesspass/accesspass/")
    assert listing.status_code == 200 and "alice" in listing.content.decode()
    detail = admin_client.get(f"/admin/accesspass/accesspass/{item.pk}/change/")
    assert detail.status_code == 200
    assert item.digest not in detail.content.decode()
    assert admin_client.post(f"/admin/accesspass/accesspass/{item.pk}/delete/").status_code == 403


def test_the_persons_own_password_reset_ends_an_open_pass(desk, user):
    """A pass given out, perhaps to someone who fooled the helpdesk; the person is told and
    resets their password at the portal: the pass signs in no more, and its end is recorded."""
    AuthenticationEmail.objects.create(
        user=user, email="owner@example.net", verified_at=timezone.now()
    )
    value = the_pass(issue(desk, user))
    reset = Client()
    start_reset(reset, user.get_username())
    reset.post("/passwordreset/email/", {"email": "owner@example.net"})
    reset.post("/passwordreset/email/code/", {"code": last_email_code()})
    new = "violet-harbour-quartz-7"
    done = reset.post("/passwordreset/finish/", {"new_password1": new, "new_password2": new})
    assert "Your password is changed" in done.content.decode()
    item = AccessPass.objects.get(user=user)
    assert (item.end_reason, item.digest) == (EndReason.PASSWORD_RESET, None)
    assert use_pass(Client(), user.get_username(), value).status_code == 200  # refused
    ended = Event.objects.get(kind=EventKind.ACCESS_PASS_EXPIRED, subject=user)
    assert ended.details["reason"] == "password_reset"


@pytest.mark.parametrize("token", ["a b\nc" * 4, "x" * 65, "é" * 20])
def test_an_issue_form_with_a_name_not_the_pages_own_still_issues_one_pass(desk, user, token):
    """A form name the page never gives (spaces, a line break, too long, not ASCII) is no
    name: the pass is issued as from a form without one, never a server error."""
    data = {"verification": "in_person", "note": "Saw her staff card", "form_token": token}
    assert the_pass(desk.post(f"/helpdesk/pass/users/{user.pk}/", data))
    assert AccessPass.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("single_use", [True, False])
def test_the_issue_pages_lead_is_one_sentence_in_each_language(desk, user, policy, single_use):
    """How long and how often a pass works is one sentence to translate: it was two pieces
    joined by an English comma, a Latin comma in Arabic and in Japanese."""
    policy.access_pass_single_use = single_use
    policy.save()
    english = desk.get(f"/helpdesk/pass/users/{user.pk}/").content.decode()
    tail = "for one sign-in." if single_use else "for any number of sign-ins until then."
    assert f"after it is shown, {tail}</p>" in english
    desk.cookies["django_language"] = "ar"
    arabic = desk.get(f"/helpdesk/pass/users/{user.pk}/").content.decode()
    assert "بعد عرضه، " in arabic and "بعد عرضه, " not in arabic


# --- A change reported as not the person's -------------------------------------------------------

NOT_ME_LINK = re.compile(r"http://\S+(/ssprsetup/not-me/[^/\s]+/)")


def _pass_holder_replaces_the_phone(desk, user, settings, policy, numbers):
    """A pass (reusable) reaches someone who fooled the helpdesk; Alice's phone is hers.
    Returns the pass, its session and the last change's "That wasn't me" link."""
    from methods.models import AuthenticationPhone
    from tests.support.registering import register_phone

    settings.SSPR_SITE_URL = "http://testserver"
    policy.access_pass_single_use = False
    policy.save()
    AuthenticationPhone.objects.create(
        user=user, number="+447400123456", verified_at=timezone.now()
    )
    value = the_pass(issue(desk, user))
    holder = Client()
    assert use_pass(holder, "alice", value).status_code == 302
    for number in numbers:
        mail.outbox.clear()
        register_phone(holder, number)
    notice = next(m for m in mail.outbox if "Authentication phone: changed" in m.body)
    return value, holder, NOT_ME_LINK.search(notice.body).group(1)


def test_a_change_reported_as_not_the_persons_ends_the_open_pass(desk, user, settings, policy):
    value, holder, link = _pass_holder_replaces_the_phone(
        desk, user, settings, policy, ["+447400111111"]
    )
    done = Client().post(link).content.decode()
    assert "The temporary access pass given for your account no longer works" in done
    item = AccessPass.objects.get(user=user)
    assert (item.end_reason, item.digest) == (EndReason.REPORTED, None)
    assert holder.get("/ssprsetup/")["Location"].startswith("/ssprsetup/signin/")
    assert use_pass(Client(), "alice", value).status_code == 200  # refused
    ended = Event.objects.get(kind=EventKind.ACCESS_PASS_EXPIRED, subject=user)
    assert ended.details["reason"] == "reported"


def test_what_a_pass_session_replaced_is_not_put_back_as_the_persons_own(
    desk, user, settings, policy
):
    """The pass holder replaced Alice's phone twice: reporting the second change puts back
    nothing (not the holder's first number), as after a sitting whose changes cool off."""
    from methods.models import AuthenticationPhone

    _value, _holder, link = _pass_holder_replaces_the_phone(
        desk, user, settings, policy, ["+447400111111", "+447400222222"]
    )
    done = Client().post(link).content.decode()
    assert "is back" not in done
    assert "The one before it is not put back here" in done
    assert not AuthenticationPhone.objects.filter(user=user).exists()
