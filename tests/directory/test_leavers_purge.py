"""A leaver past the retention period has no row of any method left (README: recovery data
is removed), whatever methods the registry holds: directory/sync.py removes it through
methods.lifecycle.purge, not a list of its own. Before, an authenticator key and passkeys
stayed."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from directory.servers import PEOPLE
from directory.sync import sync_directory
from methods.registry import REGISTRY, UserMethods
from registration.models import Registration
from tests.methods.test_contract import REGISTER, method_rows
from tests.support.directory import directory_sign_in

pytestmark = [pytest.mark.directory, pytest.mark.django_db]


def test_a_leaver_past_retention_keeps_no_row_of_any_method(
    slapd, directory, approved_questions, policy
):
    sync_directory()
    User = get_user_model()
    grace, ada = User.objects.get(username="grace"), User.objects.get(username="ada")
    for n, (key, method) in enumerate(REGISTRY.items()):
        for user, base in ((grace, 60), (ada, 80)):
            if not method.status(UserMethods.load(user), policy).is_set:  # the office phone
                REGISTER[key](user, base + n)
    Registration.objects.create(user=grace, completed_at=timezone.now())
    kept = method_rows(ada)
    conn = slapd.connect()
    conn.delete_s(f"uid=grace,{PEOPLE}")
    sync_directory()
    assert sum(method_rows(grace).values()) > 0  # kept for the retention period
    sync_directory(now=timezone.now() + datetime.timedelta(days=31))
    assert not any(method_rows(grace).values()), method_rows(grace)
    assert not Registration.objects.filter(user=grace).exists()
    # Ended as a lapse is (the report's trend counts it on the days it stood).
    from audit.models import Event, EventKind

    (ended,) = Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED, subject=grace)
    assert ended.details == {"methods_left": [], "reason": "data_removed"}
    assert method_rows(ada) == kept


def _reuse_the_name(slapd, uid: str):
    """`uid` leaves (the entry deleted), and the same name is given to someone new: a new
    entry at the very same place in the directory."""
    import ldap

    from directory.servers import SCOPE_GROUP, Person

    conn = slapd.connect()
    dn = f"uid={uid},{PEOPLE}"
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_DELETE, "member", [dn.encode()])])
    conn.delete_s(dn)
    sync_directory()
    newcomer = Person(uid, "Newcomer-Directory-2026", "Nova", "Okafor", "nova@example.org")
    slapd.add_people(conn, [newcomer], groups=False)
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_ADD, "member", [newcomer.dn.encode()])])
    conn.unbind_s()
    return newcomer


@pytest.mark.parametrize("found_by", ["sync", "sign-in"])
def test_a_name_given_again_carries_nothing_of_its_previous_holder(slapd, directory, found_by):
    """Ada leaves; within the retention period her name is given to Nova. Nova's account is
    not Ada's: none of Ada's methods or registration is Nova's (Ada, with her old personal
    mailbox, could otherwise reset Nova's directory password), and Ada's sessions are over.
    The same whether the sync or Nova's first sign-in finds the new entry first. A person
    whose entry stays, renamed or moved, keeps hers (test_sync)."""
    from django.test import Client

    from audit.models import Event, EventKind
    from methods.models import AuthenticationEmail
    from tests.support.directory import directory_sign_in

    from .test_openldap import ADA_PASSWORD

    leaver = Client()
    assert directory_sign_in(leaver, "ada", ADA_PASSWORD).status_code == 302
    sync_directory()
    ada = get_user_model().objects.get(username="ada")
    AuthenticationEmail.objects.create(
        user=ada, email="ada.home@example.net", verified_at=timezone.now()
    )
    Registration.objects.create(user=ada, completed_at=timezone.now())
    grace = get_user_model().objects.get(username="grace")
    AuthenticationEmail.objects.create(
        user=grace, email="g@example.net", verified_at=timezone.now()
    )
    newcomer = _reuse_the_name(slapd, "ada")
    if found_by == "sync":
        sync_directory()
    else:
        assert directory_sign_in(Client(), "ada", newcomer.password).status_code == 302
    nova = get_user_model().objects.get(username="ada")
    assert nova.is_active and nova.first_name == "Nova"
    assert not AuthenticationEmail.objects.filter(user=nova).exists()
    assert not Registration.objects.filter(user=nova).exists()
    assert leaver.get("/ssprsetup/")["Location"].startswith("/ssprsetup/signin/")
    assert Event.objects.filter(kind=EventKind.DIRECTORY_NAME_REUSED, subject=nova).count() == 1
    (ended,) = Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED, subject=nova)
    assert ended.details == {"methods_left": [], "reason": "name_reused"}
    assert AuthenticationEmail.objects.filter(user=grace).exists()  # nobody else's is touched
    # Found once: neither a second sync nor a sign-in forgets anything again.
    sync_directory()
    assert directory_sign_in(Client(), "ada", newcomer.password).status_code == 302
    assert Event.objects.filter(kind=EventKind.DIRECTORY_NAME_REUSED).count() == 1


@pytest.mark.parametrize("page_size", ["500", "1"], ids=["one-page", "page-by-page"])
def test_a_second_entry_with_a_persons_name_takes_nothing_from_them(slapd, settings, page_size):
    """Someone who may create entries in scope adds a second one with Ada's uid (OpenLDAP
    does not keep uids unique). Ada's entry is still there, with her name: nothing of hers
    goes, and the second entry is not mirrored, on the same page of the search or another."""
    import ldap

    from audit.models import Event, EventKind
    from directory.servers import SCOPE_GROUP
    from methods.models import AuthenticationEmail
    from tests.support.directory import use_directory

    use_directory(settings, {**slapd.environment(), "LDAP_PAGE_SIZE": page_size})
    sync_directory()
    ada = get_user_model().objects.get(username="ada")
    AuthenticationEmail.objects.create(
        user=ada, email="ada.home@example.net", verified_at=timezone.now()
    )
    conn = slapd.connect()
    second = f"cn=Second Ada,{PEOPLE}"
    conn.add_s(
        second,
        [
            ("objectClass", [b"inetOrgPerson"]),
            ("uid", [b"ada"]),
            ("cn", [b"Second Ada"]),
            ("sn", [b"Other"]),
            ("userPassword", [b"Whatever-Directory-2026"]),
        ],
    )
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_ADD, "member", [second.encode()])])
    conn.unbind_s()
    for _ in range(2):
        sync_directory()
    assert AuthenticationEmail.objects.filter(user=ada).exists()
    assert not Event.objects.filter(kind=EventKind.DIRECTORY_NAME_REUSED).exists()
    ada.refresh_from_db()
    assert ada.is_active and ada.last_name != "Other"


def test_many_names_on_new_entries_at_once_stop_the_sync_before_anything_is_removed(
    slapd, directory, monkeypatch
):
    """A directory rebuilt with new entry ids looks like everyone's name given to someone
    new. Past REUSED_AT_ONCE such names in a run, the sync stops before removing anyone's
    data, and the command says how to go on when that is what happened."""
    from django.core.management import CommandError, call_command

    from directory import sync
    from methods.models import AuthenticationEmail

    sync_directory()
    people = list(get_user_model().objects.filter(directory_account__isnull=False))
    for person in people:
        AuthenticationEmail.objects.create(
            user=person, email=f"{person.username}.home@example.net", verified_at=timezone.now()
        )
    # As if rebuilt: every link holds an id the directory no longer has.
    DirectoryAccount = sync.DirectoryAccount
    DirectoryAccount.objects.update(entry_id="0" * 36)
    monkeypatch.setattr(sync, "REUSED_AT_ONCE", 1)
    with pytest.raises(CommandError, match="--accept-new-entries"):
        call_command("sync_directory")
    assert AuthenticationEmail.objects.count() == len(people)
    call_command("sync_directory", accept_new_entries=True)
    assert AuthenticationEmail.objects.count() == 0


@pytest.mark.parametrize("action", ["reset", "unlock"])
def test_a_leaver_cannot_reset_or_unlock_the_entry_now_holding_their_name(slapd, directory, action):
    """Ada leaves and her name is given to Nova before any sync or sign-in sees it (the sync
    runs hourly; a new starter signs in days later). Ada, whose row still stands, proves
    herself at the portal with her personal mailbox: the change is refused and Nova's entry
    keeps its password, lock and all. Before, the portal changed whichever entry had the name."""
    import ldap
    from django.test import Client

    from audit.models import Event, EventKind
    from directory.servers import SCOPE_GROUP, Person
    from tests.support.directory import binds, directory_sign_in, entry, lock_out
    from tests.support.resets import shows_done_page

    from .test_openldap import ADA_PASSWORD, NEW_PASSWORD, prove_with_email, registered, set_new

    assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 302
    registered()
    conn = slapd.connect()
    dn = f"uid=ada,{PEOPLE}"
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_DELETE, "member", [dn.encode()])])
    conn.delete_s(dn)
    nova = Person("ada", "Newcomer-Directory-2026", "Nova", "Okafor", "nova@example.org")
    slapd.add_people(conn, [nova], groups=False)
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_ADD, "member", [nova.dn.encode()])])
    conn.unbind_s()
    if action == "unlock":
        lock_out(slapd, "ada")

    leaver = Client()
    if action == "reset":
        prove_with_email(leaver)
        assert not shows_done_page(set_new(leaver, NEW_PASSWORD))
        assert binds(slapd, "ada", nova.password)
        assert not binds(slapd, "ada", NEW_PASSWORD)
    else:
        prove_with_email(leaver, action="unlock")
        # Nothing of Nova's entry is told either: not that it is locked.
        assert (
            "account is locked at the moment"
            not in leaver.get("/passwordreset/finish/").content.decode()
        )
        assert not shows_done_page(leaver.post("/passwordreset/finish/"), "unlock")
        assert entry(slapd, "ada", "pwdAccountLockedTime")  # Nova's lock stays
    assert not Event.objects.filter(
        kind__in=[EventKind.PASSWORD_RESET, EventKind.ACCOUNT_UNLOCKED]
    ).exists()


@pytest.mark.parametrize("found_by", ["sync", "sign-in"])
def test_a_reset_proven_for_the_previous_holder_never_finishes_on_the_newcomer(
    slapd, directory, found_by
):
    """Ada, leaving, proves herself at the reset portal with her old personal mailbox and keeps
    the attempt open; her name is given to Nova and the sync (or Nova's sign-in) finds it,
    removing Ada's methods. Ada's last step, sent again within the attempt's 15 minutes,
    changes nothing: the attempt was proven for the account as it was when it began
    (passwordreset.flows.account_stamp). Before, it set Nova's directory password."""
    from django.test import Client

    from audit.models import Event, EventKind
    from methods.models import AuthenticationEmail
    from tests.passwordreset.test_portal import pass_email
    from tests.support.directory import binds
    from tests.support.resets import shows_finish_page, start_reset

    sync_directory()
    ada = get_user_model().objects.get(username="ada")
    AuthenticationEmail.objects.create(
        user=ada, email="ada.home@example.net", verified_at=timezone.now()
    )
    leaver = Client()
    assert start_reset(leaver, "ada")["Location"] == "/passwordreset/methods/"
    assert shows_finish_page(pass_email(leaver, "ada.home@example.net"))
    newcomer = _reuse_the_name(slapd, "ada")
    if found_by == "sync":
        sync_directory()
    else:
        assert directory_sign_in(Client(), "ada", newcomer.password).status_code == 302
    chosen = "Leaver-chose-this-2027"
    response = leaver.post(
        "/passwordreset/finish/", {"new_password1": chosen, "new_password2": chosen}, follow=True
    )
    page = response.content.decode()
    assert "the account changed hands, since this reset began" in page
    assert binds(slapd, "ada", newcomer.password)
    assert not binds(slapd, "ada", chosen)
    refused = Event.objects.get(kind=EventKind.RESET_REFUSED, details__reason="account_changed")
    assert refused.details["methods"] == ["authentication_email"]
    assert not Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()


@pytest.mark.parametrize("found_by", ["sync", "sign-in"])
def test_a_name_given_again_carries_none_of_the_previous_holders_roles(slapd, directory, found_by):
    """Ada was in the Helpdesk group here and an administrator of the site; her name is given
    to Nova. Nova is none of that: the roles were Ada's (directory.mirror.forget_previous_
    holder). Before, Nova could open the helpdesk and issue temporary access passes."""
    from django.contrib.auth.models import Group
    from django.test import Client

    from .test_openldap import ADA_PASSWORD

    assert directory_sign_in(Client(), "ada", ADA_PASSWORD).status_code == 302
    from registration.models import PreferredLanguage

    ada = get_user_model().objects.get(username="ada")
    ada.groups.add(Group.objects.get(name="Helpdesk"))
    ada.is_superuser = ada.is_staff = True
    ada.save()
    PreferredLanguage.objects.update_or_create(
        user=ada, defaults={"language": "pl", "chosen": True}
    )
    newcomer = _reuse_the_name(slapd, "ada")
    if found_by == "sync":
        sync_directory()
    nova_browser = Client()
    assert directory_sign_in(nova_browser, "ada", newcomer.password).status_code == 302
    nova = get_user_model().objects.get(username="ada")
    assert nova.first_name == "Nova"
    assert list(nova.groups.all()) == [] and not nova.user_permissions.exists()
    assert not nova.is_superuser and not nova.is_staff
    # Nor the language Ada chose here; the event names what went.
    assert not PreferredLanguage.objects.filter(user=nova, chosen=True).exists()
    from audit.models import Event, EventKind

    reused = Event.objects.get(kind=EventKind.DIRECTORY_NAME_REUSED, subject=nova)
    # (Staff status, at sign-in, was already the new entry's groups' word when the name was
    # found given again.)
    assert {"Helpdesk", "superuser"} <= set(reused.details["roles"])
    from helpdesk.views import PERMISSION, helpdesk_permissions

    assert PERMISSION not in helpdesk_permissions(nova)
