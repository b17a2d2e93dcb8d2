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
    page_size = "1" if found_by == "sync, page by page" else "500"
    use_directory(settings, {**slapd.environment(), "LDAP_PAGE_SIZE": page_size})
    ada = _registered_ada()
    _rename(slapd, "ada", "ada.king")
    nova = _newcomer_named(slapd, "ada")
    if found_by == "sign-in":
        assert directory_sign_in(Client(), "ada", nova.password).status_code == 302
    else:
        sync_directory()
    _keeps_everything(ada, "ada.king")
    newcomer = get_user_model().objects.get(username="ada")
    assert newcomer.pk != ada.pk and newcomer.first_name == "Nova"
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
        moves = mirror.follow_renames(page, conf, named=lambda i: store.entry_name(conn, i))
        assert moves == [(ada.pk, "ada", "ada.king")]
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
    """A row already has the new name (someone mirrored under it before): the rename waits,
    and that row is not given Ada's methods nor loses its own."""
    ada = _registered_ada()
    other = get_user_model().objects.create_user("ada.king")
    AuthenticationEmail.objects.create(
        user=other, email="k@example.net", verified_at=timezone.now()
    )
    _rename(slapd, "ada", "ada.king")
    from directory import mirror
    from directory.accounts import accounts, config

    store, conf = accounts(), config()
    with store.service() as conn:
        dn, attrs = store.find(conn, "ada.king", conf.attribute_names())
        page = {"ada.king": (dn, {name.lower(): values for name, values in attrs.items()})}
    # "ada.king" has a row: nothing of Ada's row moves onto it.
    assert mirror.follow_renames(page, conf) == []
    assert get_user_model().objects.get(pk=ada.pk).username == "ada"
    assert AuthenticationEmail.objects.filter(user=ada).exists()
    assert AuthenticationEmail.objects.filter(user=other).count() == 1


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
