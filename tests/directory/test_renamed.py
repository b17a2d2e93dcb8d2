"""Someone renamed in the directory (a new surname, a new naming scheme) keeps their row here,
and with it their methods, registration and history: the entry they are linked to is found
under its new name by its lasting id (entryUUID here; objectGUID in test_active_directory), by
the sync and at sign-in (docs/security.md §39). Before, the new name made a second row with
nothing on it, and the person's methods stayed on a row nobody could sign in to."""

from __future__ import annotations

import io

import ldap
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from directory.servers import PEOPLE, SCOPE_GROUP, Person
from directory.sync import sync_directory
from methods.models import AuthenticationEmail
from registration.models import Registration
from tests.support.directory import directory_sign_in, use_directory

from .test_openldap import ADA_PASSWORD

pytestmark = [pytest.mark.directory, pytest.mark.django_db]


def _registered_ada():
    sync_directory()
    ada = get_user_model().objects.get(username="ada")
    AuthenticationEmail.objects.create(
        user=ada, email="ada.home@example.net", verified_at=timezone.now()
    )
    Registration.objects.create(user=ada, completed_at=timezone.now())
    return ada


def _rename(slapd, old: str, new: str) -> str:
    """The entry `uid=old` renamed to `uid=new`, its group membership following it (as the
    directory's referential integrity keeps it). Its entryUUID stays."""
    conn = slapd.connect()
    conn.rename_s(f"uid={old},{PEOPLE}", f"uid={new}", delold=1)
    renamed = f"uid={new},{PEOPLE}"
    conn.modify_s(
        SCOPE_GROUP,
        [
            (ldap.MOD_DELETE, "member", [f"uid={old},{PEOPLE}".encode()]),
            (ldap.MOD_ADD, "member", [renamed.encode()]),
        ],
    )
    conn.unbind_s()
    return renamed


def _remove(slapd, uid: str) -> None:
    """The entry deleted, and its group membership with it."""
    conn = slapd.connect()
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_DELETE, "member", [f"uid={uid},{PEOPLE}".encode()])])
    conn.delete_s(f"uid={uid},{PEOPLE}")
    conn.unbind_s()


def _newcomer_named(slapd, uid: str) -> Person:
    newcomer = Person(uid, "Newcomer-Directory-2026", "Nova", "Okafor", "nova@example.org")
    conn = slapd.connect()
    slapd.add_people(conn, [newcomer], groups=False)
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_ADD, "member", [newcomer.dn.encode()])])
    conn.unbind_s()
    return newcomer


def _keeps_everything(ada, username: str) -> None:
    row = get_user_model().objects.get(pk=ada.pk)
    assert row.username == username and row.is_active
    assert AuthenticationEmail.objects.filter(user=row).exists()
    assert Registration.objects.filter(user=row, completed_at__isnull=False).exists()
    assert Event.objects.filter(kind=EventKind.DIRECTORY_RENAMED, subject=row).count() == 1
    assert not Event.objects.filter(kind=EventKind.DIRECTORY_NAME_REUSED).exists()


@pytest.mark.parametrize("found_by", ["sync", "sign-in"])
def test_a_person_renamed_in_the_directory_keeps_their_methods(slapd, directory, found_by):
    ada = _registered_ada()
    _rename(slapd, "ada", "ada.king")
    if found_by == "sync":
        said = io.StringIO()
        call_command("sync_directory", stdout=said, stderr=io.StringIO())
        assert "Added: 0." in said.getvalue()
        assert "Renamed in the directory, keeping their recovery methods: 1." in said.getvalue()
    else:
        assert directory_sign_in(Client(), "ada.king", ADA_PASSWORD).status_code == 302
    _keeps_everything(ada, "ada.king")
    assert not get_user_model().objects.filter(username="ada").exists()
    # Found once: the next sync and sign-in rename nothing again, and nobody left.
    assert sync_directory().renamed == 0
    assert directory_sign_in(Client(), "ada.king", ADA_PASSWORD).status_code == 302
    assert Event.objects.filter(kind=EventKind.DIRECTORY_RENAMED).count() == 1
    assert get_user_model().objects.get(pk=ada.pk).directory_account.left_at is None


@pytest.mark.parametrize("found_by", ["sync, one page", "sync, page by page", "sign-in"])
def test_a_name_left_by_a_renamed_person_is_someone_new(slapd, settings, found_by):
    """Ada becomes ada.king and her old name is given to Nova. Ada keeps everything under her
    new name; Nova's "ada" is a new row with nothing of Ada's, whichever is found first: the
    sync (which reads Ada's entry first), or Nova's sign-in before anything else has seen the
    rename (Ada's entry is then looked up by its entryUUID)."""
    from axes.models import AccessAttempt

    from directory.lockout import lockout_key, username_key

    page_size = "1" if found_by == "sync, page by page" else "500"
    use_directory(settings, {**slapd.environment(), "LDAP_PAGE_SIZE": page_size})
    ada = _registered_ada()
    assert directory_sign_in(Client(), "ada", "not-her-password").status_code == 200
    tried = AccessAttempt.objects.filter(username=lockout_key(username_key("ada")))
    assert tried.exists()  # a failed sign-in against Ada's name
    _rename(slapd, "ada", "ada.king")
    nova = _newcomer_named(slapd, "ada")
    if found_by == "sign-in":
        assert directory_sign_in(Client(), "ada", nova.password).status_code == 302
    else:
        sync_directory()
    _keeps_everything(ada, "ada.king")
    newcomer = get_user_model().objects.get(username="ada")
    assert newcomer.pk != ada.pk and newcomer.first_name == "Nova"
    assert not tried.exists()  # Nova starts without the failures tried against Ada
    assert not AuthenticationEmail.objects.filter(user=newcomer).exists()
    assert not Registration.objects.filter(user=newcomer).exists()
    sync_directory()
    assert directory_sign_in(Client(), "ada.king", ADA_PASSWORD).status_code == 302
    _keeps_everything(ada, "ada.king")


def test_a_sync_page_holding_only_the_newcomer_looks_the_renamed_entry_up(slapd, directory):
    """A page of the sync on which Nova's "ada" comes before Ada's renamed entry (a later page
    of the same run): Ada's row is found linked to another entry than Nova's, and the directory
    is asked for that entry by its entryUUID, which now has the name ada.king."""
    from directory import mirror
    from directory.accounts import accounts, config

    ada = _registered_ada()
    _rename(slapd, "ada", "ada.king")
    nova = _newcomer_named(slapd, "ada")
    store, conf = accounts(), config()
    with store.service() as conn:
        dn, attrs = store.find(conn, "ada", conf.attribute_names())
        page = {"ada": (dn, {name.lower(): values for name, values in attrs.items()})}
        done = mirror.follow_renames(page, conf, named=lambda i: store.entry_name(conn, i))
        assert done.moves == [(ada.pk, "ada", "ada.king")] and not done.held
    assert dn == nova.dn
    _keeps_everything(ada, "ada.king")


def test_a_renamed_entry_out_of_scope_is_not_followed(slapd, directory):
    """The renamed entry is no longer in scope: it is not looked up under its new name, and the
    name it left, given to someone new, is handled as any name given again."""
    ada = _registered_ada()
    conn = slapd.connect()
    conn.rename_s(f"uid=ada,{PEOPLE}", "uid=ada.king", delold=1)
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_DELETE, "member", [f"uid=ada,{PEOPLE}".encode()])])
    conn.unbind_s()
    nova = _newcomer_named(slapd, "ada")
    assert directory_sign_in(Client(), "ada", nova.password).status_code == 302
    assert get_user_model().objects.get(pk=ada.pk).username == "ada"  # now Nova's
    assert not AuthenticationEmail.objects.filter(user_id=ada.pk).exists()
    assert not Event.objects.filter(kind=EventKind.DIRECTORY_RENAMED).exists()


def test_a_new_name_a_row_has_already_is_not_taken(slapd, directory):
    """A row made here already has the new name, linked to no entry: the rename waits, and
    that row is not given Ada's methods nor loses its own; Ada keeps hers under her old name,
    and the entry under the new name is not mirrored meanwhile."""
    ada = _registered_ada()
    other = get_user_model().objects.create_user("ada.king")
    AuthenticationEmail.objects.create(
        user=other, email="k@example.net", verified_at=timezone.now()
    )
    _rename(slapd, "ada", "ada.king")
    report = sync_directory()
    assert report.renamed == 0
    assert get_user_model().objects.get(pk=ada.pk).username == "ada"
    assert AuthenticationEmail.objects.filter(user=ada).exists()
    assert list(AuthenticationEmail.objects.filter(user=other).values_list("email", flat=True)) == [
        "k@example.net"
    ]


def _copy_of_adas_entry_id(slapd, ada_dn: str) -> Person:
    """An entry given Ada's entryUUID by someone who may write it (an import that keeps entry
    ids, say): the directory then has two entries with one id."""
    from ldap.controls import RequestControl

    conn = slapd.connect()
    ((_, attrs),) = conn.search_s(ada_dn, ldap.SCOPE_BASE, attrlist=["entryUUID"])
    mallory = Person("mallory", "Mallory-Directory-2026", "Mallory", "Copy")
    relax = RequestControl("1.3.6.1.4.1.4203.666.5.12", True)
    conn.add_ext_s(
        mallory.dn,
        [
            ("objectClass", [b"inetOrgPerson"]),
            ("uid", [b"mallory"]),
            ("cn", [b"Mallory Copy"]),
            ("sn", [b"Copy"]),
            ("userPassword", [mallory.password.encode()]),
            ("entryUUID", attrs["entryUUID"]),
        ],
        serverctrls=[relax],
    )
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_ADD, "member", [mallory.dn.encode()])])
    conn.unbind_s()
    return mallory


@pytest.mark.parametrize("found_by", ["sync", "sign-in"])
def test_an_entry_given_a_copy_of_someones_id_takes_nothing_of_theirs(slapd, directory, found_by):
    ada = _registered_ada()
    ada.is_superuser = ada.is_staff = True
    ada.save()
    try:
        mallory = _copy_of_adas_entry_id(slapd, f"uid=ada,{PEOPLE}")
    except ldap.LDAPError as error:  # a slapd that refuses the control: nothing to copy
        pytest.fail(f"the copy could not be made: {error}")
    if found_by == "sync":
        sync_directory()
    else:
        assert directory_sign_in(Client(), "mallory", mallory.password).status_code == 302
    row = get_user_model().objects.get(pk=ada.pk)
    assert row.username == "ada" and row.is_superuser
    assert AuthenticationEmail.objects.filter(user=row).exists()
    theirs = get_user_model().objects.get(username="mallory")
    assert theirs.pk != ada.pk and not theirs.is_superuser
    assert not AuthenticationEmail.objects.filter(user=theirs).exists()
    assert not Event.objects.filter(kind=EventKind.DIRECTORY_RENAMED).exists()


def _ada_and_grace_registered():
    ada = _registered_ada()
    grace = get_user_model().objects.get(username="grace")
    AuthenticationEmail.objects.create(
        user=grace, email="g@example.net", verified_at=timezone.now()
    )
    return ada, grace


def _each_keeps_her_own(ada, ada_name: str, grace, grace_name: str) -> None:
    names = dict(
        get_user_model().objects.filter(pk__in=[ada.pk, grace.pk]).values_list("pk", "username")
    )
    assert names == {ada.pk: ada_name, grace.pk: grace_name}
    assert AuthenticationEmail.objects.get(user_id=ada.pk).email == "ada.home@example.net"
    assert AuthenticationEmail.objects.get(user_id=grace.pk).email == "g@example.net"
    assert not Event.objects.filter(kind=EventKind.DIRECTORY_NAME_REUSED).exists()


@pytest.mark.parametrize("found_by", ["sync, one page", "sync, page by page", "sign-in"])
def test_a_chain_of_renames_keeps_everyones_methods(slapd, settings, found_by):
    """Grace becomes grace.h, then Ada takes the name grace: each keeps her own row."""
    page_size = "1" if found_by == "sync, page by page" else "500"
    use_directory(settings, {**slapd.environment(), "LDAP_PAGE_SIZE": page_size})
    ada, grace = _ada_and_grace_registered()
    _rename(slapd, "grace", "grace.h")
    _rename(slapd, "ada", "grace")
    if found_by == "sign-in":
        assert directory_sign_in(Client(), "grace", ADA_PASSWORD).status_code == 302
    else:
        sync_directory()
    _each_keeps_her_own(ada, "grace", grace, "grace.h")
    sync_directory()
    assert get_user_model().objects.get(pk=ada.pk).directory_account.left_at is None
    assert get_user_model().objects.get(pk=grace.pk).directory_account.left_at is None


@pytest.mark.parametrize("found_by", ["sync", "sign-in"])
def test_two_people_who_swap_names_keep_their_own_methods(slapd, directory, found_by):
    ada, grace = _ada_and_grace_registered()
    _rename(slapd, "ada", "swap")
    _rename(slapd, "grace", "ada")
    _rename(slapd, "swap", "grace")
    if found_by == "sign-in":
        assert directory_sign_in(Client(), "grace", ADA_PASSWORD).status_code == 302
    else:
        sync_directory()
    _each_keeps_her_own(ada, "grace", grace, "ada")


def test_a_leavers_row_under_the_new_name_is_set_aside(slapd, directory):
    """A leaver's row, its data kept for the retention period, has the name Ada is renamed
    to: it is set aside under a name of its own, its data still there, and Ada's row takes
    the name."""
    ada = _registered_ada()
    conn = slapd.connect()
    slapd.add_people(
        conn, [Person("ada.king", "Old-King-Directory-2026", "Old", "King")], groups=False
    )
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_ADD, "member", [f"uid=ada.king,{PEOPLE}".encode()])])
    conn.unbind_s()
    sync_directory()
    leaver = get_user_model().objects.get(username="ada.king")
    AuthenticationEmail.objects.create(
        user=leaver, email="old@example.net", verified_at=timezone.now()
    )
    _remove(slapd, "ada.king")
    sync_directory()
    assert get_user_model().objects.get(pk=leaver.pk).directory_account.left_at is not None
    _rename(slapd, "ada", "ada.king")
    sync_directory()
    _keeps_everything(ada, "ada.king")
    leaver.refresh_from_db()
    assert leaver.username == f"ada.king.left-{leaver.pk}"
    assert AuthenticationEmail.objects.filter(user=leaver).exists()  # until the retention ends


def test_a_name_held_by_someone_not_yet_seen_leaving_waits(slapd, directory):
    """The row under the new name is someone's the sync has not yet seen leave: neither row
    changes and the renamed entry waits; once the sync has seen them leave, the rename
    follows."""
    ada = _registered_ada()
    conn = slapd.connect()
    slapd.add_people(
        conn, [Person("ada.king", "Old-King-Directory-2026", "Old", "King")], groups=False
    )
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_ADD, "member", [f"uid=ada.king,{PEOPLE}".encode()])])
    conn.unbind_s()
    sync_directory()
    king = get_user_model().objects.get(username="ada.king")
    AuthenticationEmail.objects.create(user=king, email="k@example.net", verified_at=timezone.now())
    _remove(slapd, "ada.king")
    _rename(slapd, "ada", "ada.king")
    # At sign-in first: nothing of the old holder's is given to Ada, and she waits; the page
    # says to ask the helpdesk, and her right password counts as no failed sign-in.
    from axes.models import AccessAttempt

    for _ in range(3):
        page = directory_sign_in(Client(), "ada.king", ADA_PASSWORD)
        assert page.status_code == 503
        assert "Your new name is not ready yet" in page.content.decode()
    assert not AccessAttempt.objects.exists()
    assert get_user_model().objects.get(pk=king.pk).username == "ada.king"
    assert AuthenticationEmail.objects.filter(user=king).exists()
    report = sync_directory()  # this run sees the old holder leave; Ada waits once more
    assert report.renamed == 0
    assert AuthenticationEmail.objects.filter(user=king).exists()
    assert AuthenticationEmail.objects.filter(user=ada).exists()
    assert sync_directory().renamed == 1
    _keeps_everything(ada, "ada.king")
    assert AuthenticationEmail.objects.filter(user=king).exists()


def test_a_dry_run_says_who_would_be_renamed_and_renames_nobody(slapd, directory):
    ada = _registered_ada()
    _rename(slapd, "ada", "ada.king")
    said = io.StringIO()
    call_command("sync_directory", "--dry-run", stdout=said, stderr=io.StringIO())
    assert "To add: 0." in said.getvalue()
    assert "To rename, keeping their recovery methods: 1." in said.getvalue()
    assert get_user_model().objects.get(pk=ada.pk).username == "ada"
    assert not Event.objects.filter(kind=EventKind.DIRECTORY_RENAMED).exists()
    report = sync_directory()
    assert (report.renamed, report.created) == (1, 0)


def test_a_dry_run_page_by_page_counts_each_rename_once(slapd, settings):
    use_directory(settings, {**slapd.environment(), "LDAP_PAGE_SIZE": "1"})
    _registered_ada()
    _rename(slapd, "ada", "ada.king")
    _newcomer_named(slapd, "ada")
    said = io.StringIO()
    call_command("sync_directory", "--dry-run", stdout=said, stderr=io.StringIO())
    assert "To rename, keeping their recovery methods: 1." in said.getvalue()
    assert sync_directory().renamed == 1


def _add_in_scope(slapd, *people: Person) -> None:
    conn = slapd.connect()
    slapd.add_people(conn, list(people), groups=False)
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_ADD, "member", [p.dn.encode() for p in people])])
    conn.unbind_s()


def test_a_rename_that_waits_leaves_the_person_in_scope_with_everything(slapd, directory):
    """A row made here holds the new name: Ada's rename waits, and she is neither deactivated
    nor, after the retention period, stripped of her methods; the sync says one waits."""
    import datetime

    ada = _registered_ada()
    get_user_model().objects.create_user("ada.king")
    _rename(slapd, "ada", "ada.king")
    said = io.StringIO()
    call_command("sync_directory", stdout=said, stderr=io.StringIO())
    assert "Waiting, their name still held by someone who has not left: 1" in said.getvalue()
    report = sync_directory(now=timezone.now() + datetime.timedelta(days=31))
    assert (report.left, report.removed) == (0, 0)
    row = get_user_model().objects.get(pk=ada.pk)
    assert row.is_active and row.directory_account.left_at is None
    assert AuthenticationEmail.objects.filter(user=row).exists()


def test_a_chain_that_cannot_move_gives_no_ones_row_to_a_newcomer(slapd, directory):
    """q1 becomes z1 (a row made here has that name), p1 becomes q1, and p1's old name is
    given to someone new whose entry comes first in the search: the chain waits whole, and
    p1's row keeps everything of p1's."""
    conn = slapd.connect()
    early = Person("x0", "Early-Directory-2026", "Nova", "New", groups=())
    slapd.add_people(conn, [early], groups=False)
    conn.unbind_s()
    _add_in_scope(
        slapd,
        Person("p1", "P-One-Directory-2026", "P", "One"),
        Person("q1", "Q-One-Directory-2026", "Q", "One"),
    )
    sync_directory()
    User = get_user_model()
    p1, q1 = User.objects.get(username="p1"), User.objects.get(username="q1")
    for person in (p1, q1):
        AuthenticationEmail.objects.create(
            user=person, email=f"{person.username}@home.example", verified_at=timezone.now()
        )
    User.objects.create_user("z1")
    _rename(slapd, "q1", "z1")
    _rename(slapd, "p1", "q1")
    conn = slapd.connect()
    conn.rename_s(f"uid=x0,{PEOPLE}", "uid=p1", delold=1)
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_ADD, "member", [f"uid=p1,{PEOPLE}".encode()])])
    conn.unbind_s()
    sync_directory()
    p1.refresh_from_db()
    assert p1.first_name == "P"
    assert AuthenticationEmail.objects.filter(user=p1).exists()
    assert not Event.objects.filter(kind=EventKind.DIRECTORY_NAME_REUSED).exists()


def test_many_renames_at_once_are_all_followed(slapd, directory):
    """A new naming scheme renames everyone at once: each keeps their row."""
    people = [Person(f"n{n}", f"N-{n}-Directory-2026", "N", f"Person{n}") for n in range(24)]
    _add_in_scope(slapd, *people)
    sync_directory()
    User = get_user_model()
    rows = {person.uid: User.objects.get(username=person.uid).pk for person in people}
    for person in people:
        _rename(slapd, person.uid, f"{person.uid}.new")
    report = sync_directory()
    assert (report.renamed, report.created, report.left) == (24, 0, 0)
    for uid, pk in rows.items():
        assert User.objects.get(pk=pk).username == f"{uid}.new"
