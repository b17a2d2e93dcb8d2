"""Temporary access passes in directory mode, against a real slapd with the password policy
overlay: a mirrored person signs in with a pass (however the name is cased), sets a new
password in the directory under its policy, and the directory's staff group makes a
two-person account."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from accesspass.models import AccessPass
from directory.servers import DEMO_PEOPLE
from tests.support.access_passes import issue, the_pass, use_pass
from tests.support.directory import binds

pytestmark = [pytest.mark.directory, pytest.mark.django_db]

ADA_PASSWORD = next(p.password for p in DEMO_PEOPLE if p.uid == "ada")
NEW_PASSWORD = "Lighthouse-copper-kettle-2027"


@pytest.fixture
def mirrored(directory, settings):
    """Everyone in scope mirrored (the pass backend is after axes, as settings.py lists it:
    tests/support/directory.py)."""
    assert "accesspass.backends.AccessPassBackend" in settings.AUTHENTICATION_BACKENDS
    call_command("sync_directory", stdout=io.StringIO(), stderr=io.StringIO())
    return get_user_model().objects


def test_sign_in_with_a_pass_and_set_a_new_password_in_the_directory(slapd, mirrored, desk):
    ada = mirrored.get(username="ada")
    assert not ada.has_usable_password()
    value = the_pass(issue(desk, ada))
    person = Client()
    # The directory compares names without case; so does the pass sign-in.
    assert use_pass(person, "ADA", value).status_code == 302
    page = person.get("/ssprsetup/pass/password/").content.decode()
    assert "last 3 passwords" in page  # the directory's own rules, listed before typing
    response = person.post(
        "/ssprsetup/pass/password/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert binds(slapd, "ada", NEW_PASSWORD)
    assert not binds(slapd, "ada", ADA_PASSWORD)
    # Under the directory's policy: its history refuses the same one again, next to the field.
    response = person.post(
        "/ssprsetup/pass/password/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "you have used it before" in response.content.decode()
    assert binds(slapd, "ada", NEW_PASSWORD)
    assert person.get("/ssprsetup/").status_code == 200
    # Single use: refused afterwards.
    assert use_pass(Client(), "ada", value).status_code == 200


def test_a_wrong_pass_never_reaches_the_directory_lockout(slapd, mirrored, desk, settings):
    ada = mirrored.get(username="ada")
    the_pass(issue(desk, ada))
    for _ in range(5):
        use_pass(Client(), "ada", "ABCD-EFGH-JKMN-PQRS")
    # The directory's own password still binds: the pass page never tried a password there.
    assert binds(slapd, "ada", ADA_PASSWORD)
    assert AccessPass.objects.get(user=ada).uses == 0


def test_the_directorys_staff_group_needs_two_people(slapd, mirrored, desk, approver):
    ken = mirrored.get(username="ken")
    assert ken.is_staff
    response = issue(desk, ken)
    assert response.status_code == 302
    assert AccessPass.objects.get(user=ken).needs_approval


def test_an_account_made_staff_since_the_sync_needs_two_people(slapd, mirrored, desk, approver):
    """Grace is added to the staff group after the sync read her: one agent's pass would have
    made them an administrator's account alone. The directory is asked: approval is needed,
    and the mirror learns she is staff."""
    from tests.directory.test_openldap import made_staff

    grace = mirrored.get(username="grace")
    assert not grace.is_staff
    made_staff(slapd, "grace")
    assert issue(desk, grace).status_code == 302
    assert AccessPass.objects.get(user=grace).needs_approval
    grace.refresh_from_db()
    assert grace.is_staff


def test_a_pass_session_cannot_set_a_password_once_the_account_is_turned_off(slapd, mirrored, desk):
    """Turned off in the directory after the pass signed the person in: the new password is
    refused beside the form, nothing is set, and the account stays off."""
    from tests.support.directory import entry, turn_off

    ada = mirrored.get(username="ada")
    person = Client()
    assert use_pass(person, "ada", the_pass(issue(desk, ada))).status_code == 302
    turn_off(slapd, "ada")
    response = person.post(
        "/ssprsetup/pass/password/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 409
    assert "This account is turned off" in response.content.decode()
    assert not binds(slapd, "ada", NEW_PASSWORD)
    assert entry(slapd, "ada", "pwdAccountLockedTime") == {
        "pwdAccountLockedTime": ["000001010000Z"]
    }


def test_a_pass_given_to_a_leaver_does_not_open_the_account_of_the_next_holder_of_the_name(
    slapd, mirrored, desk
):
    """Ada is given a pass, then leaves before using it; her name goes to Nova within the
    retention period. The pass was Ada's: it does not sign in to Nova's account (with it,
    Ada could register methods there and reset Nova's directory password)."""
    from audit.models import Event, EventKind
    from tests.directory.test_leavers_purge import _reuse_the_name

    ada = mirrored.get(username="ada")
    value = the_pass(issue(desk, ada))
    _reuse_the_name(slapd, "ada")
    call_command("sync_directory", stdout=io.StringIO(), stderr=io.StringIO())
    nova = mirrored.get(username="ada")
    assert nova.is_active and nova.first_name == "Nova"

    response = use_pass(Client(), "ada", value)
    assert response.status_code == 200
    assert "_auth_user_id" not in response.wsgi_request.session
    ended = AccessPass.objects.get(user=nova)
    assert ended.end_reason == "data_removed" and ended.digest is None
    event = Event.objects.get(kind=EventKind.ACCESS_PASS_EXPIRED, subject=nova)
    assert event.details["reason"] == "data_removed"


def test_a_new_password_whose_outcome_cannot_be_asked_says_so(
    slapd, mirrored, desk, settings, monkeypatch
):
    """With a pass, the new password goes to the directory, its answer is cut on the way
    back, and the directory cannot be asked again: the page does not say "nothing was
    changed", since it may have been. Other sessions end as a new password's would; this one
    stays while the pass lasts, and the audit log says what is known."""
    from audit.models import Event, EventKind
    from tests.directory.test_openldap import signed_in_directory
    from tests.support.directory import cannot_be_asked_again, use_directory
    from tests.support.tcp_cut import CuttingRelay

    ada = mirrored.get(username="ada")
    value = the_pass(issue(desk, ada))
    person = Client()
    assert use_pass(person, "ada", value).status_code == 302
    elsewhere = signed_in_directory("ada", ADA_PASSWORD)
    relay = CuttingRelay(slapd.port, cut_on=b"1.3.6.1.4.1.4203.1.11.1", deliver=True)
    try:
        use_directory(
            settings, {**slapd.environment(), "LDAP_URI": f"ldap://127.0.0.1:{relay.port}"}
        )
        cannot_be_asked_again(monkeypatch)
        response = person.post(
            "/ssprsetup/pass/password/",
            {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
    finally:
        relay.close()
    page = response.content.decode()
    assert relay.cuts == 1
    assert response.status_code == 200
    assert "it is not known whether it took it" in page
    assert "nothing was changed" not in page
    assert binds(slapd, "ada", NEW_PASSWORD)  # it was in fact made
    assert elsewhere.get("/ssprsetup/").status_code == 302
    assert person.get("/ssprsetup/pass/password/").status_code == 200
    assert Event.objects.filter(kind=EventKind.PASSWORD_UNCONFIRMED, subject=ada).count() == 1
    assert not Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()
