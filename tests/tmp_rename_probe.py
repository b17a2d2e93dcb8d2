"""Review probes for 152dfb6 (follow_renames). Scratch: delete when done."""

from __future__ import annotations

import io

import ldap
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from directory.models import DirectoryAccount
from directory.servers import PEOPLE, SCOPE_GROUP
from directory.sync import sync_directory
from methods.models import AuthenticationEmail
from tests.directory.test_openldap import ADA_PASSWORD
from tests.directory.test_renamed import _newcomer_named, _rename
from tests.support.directory import directory_sign_in, use_directory
from tests.support.slapd import directory, slapd, slapd_people, slapd_tls  # noqa: F401

pytestmark = [pytest.mark.directory, pytest.mark.django_db]
GRACE_PASSWORD = "Grace-Directory-2026"
User = get_user_model


def _with_email(name):
    user = User().objects.get(username=name)
    AuthenticationEmail.objects.create(
        user=user, email=f"{name}.home@example.net", verified_at=timezone.now()
    )
    return user


def _state(*users):
    return [
        (
            u.pk,
            User().objects.get(pk=u.pk).username,
            AuthenticationEmail.objects.filter(user_id=u.pk).exists(),
        )
        for u in users
    ]


# --- 1. A rename chain: grace -> grace.h, then ada -> grace ------------------------------------


@pytest.mark.parametrize("found_by", ["sync", "sign-in"])
def test_chain(slapd, directory, found_by):
    sync_directory()
    ada, grace = _with_email("ada"), _with_email("grace")
    _rename(slapd, "grace", "grace.h")
    _rename(slapd, "ada", "grace")
    if found_by == "sync":
        report = sync_directory()
        print("report", report)
    else:
        assert directory_sign_in(Client(), "grace", ADA_PASSWORD).status_code == 302
    print("state", _state(ada, grace))
    print("rows", list(User().objects.values_list("pk", "username", "directory_account__entry_id")))
    # Wanted: Ada's row is "grace" with her email, Grace's is "grace.h" with hers.
    assert User().objects.get(pk=ada.pk).username == "grace", _state(ada, grace)


# --- 2. A swap: ada <-> grace -------------------------------------------------------------------


@pytest.mark.parametrize("found_by", ["sync", "sign-in"])
def test_swap(slapd, directory, found_by):
    sync_directory()
    ada, grace = _with_email("ada"), _with_email("grace")
    _rename(slapd, "ada", "tmpname")
    _rename(slapd, "grace", "ada")
    _rename(slapd, "tmpname", "grace")
    if found_by == "sync":
        print("report", sync_directory())
    else:
        assert directory_sign_in(Client(), "grace", ADA_PASSWORD).status_code == 302
        assert directory_sign_in(Client(), "ada", GRACE_PASSWORD).status_code == 302
    print("state", _state(ada, grace))
    print("events", list(Event.objects.filter(kind__startswith="directory").values_list("kind", "subject_id")))
    assert AuthenticationEmail.objects.filter(user_id=ada.pk).exists(), _state(ada, grace)
    assert AuthenticationEmail.objects.filter(user_id=grace.pk).exists(), _state(ada, grace)


# --- 3. "The rename waits" for ever: the new name's row is a leaver's ----------------------------


def test_waits_for_ever(slapd, directory):
    """A former employee had "ada.king" (left, data kept for the retention). Ada is renamed to
    it. The rename waits; the sync then gives the leaver's row to Ada's entry (forgotten), and
    Ada's own row, with her methods, is left behind, never to be renamed."""
    leaver = _newcomer_named(slapd, "ada.king")
    sync_directory()
    king = _with_email("ada.king")
    conn = slapd.connect()
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_DELETE, "member", [leaver.dn.encode()])])
    conn.delete_s(leaver.dn)
    conn.unbind_s()
    sync_directory()
    assert DirectoryAccount.objects.get(user=king).left_at is not None
    ada = _with_email("ada")
    _rename(slapd, "ada", "ada.king")
    print("report", sync_directory())
    print("report 2", sync_directory())
    assert directory_sign_in(Client(), "ada.king", ADA_PASSWORD).status_code == 302
    print("state", _state(ada, king))
    print(
        "links",
        list(DirectoryAccount.objects.values_list("user__username", "entry_id", "left_at")),
    )
    assert AuthenticationEmail.objects.filter(user__username="ada.king", email="ada.home@example.net").exists(), _state(ada, king)


# --- 4. A race: the name's row renamed while the directory is asked -------------------------------


def test_race_sign_in(slapd, directory, monkeypatch):
    """Nova signs in as "ada" while Ada signs in as "ada.king" (simulated: Ada's sign-in runs
    while Nova's follow_renames asks the directory where Ada's entry went)."""
    from directory import ldap_accounts

    sync_directory()
    ada = _with_email("ada")
    _rename(slapd, "ada", "ada.king")
    nova = _newcomer_named(slapd, "ada")
    asked = ldap_accounts.DirectoryAccounts.entry_name
    done = []

    def meanwhile(self, conn, found_id):
        answer = asked(self, conn, found_id)
        if not done:
            done.append(1)
            assert directory_sign_in(Client(), "ada.king", ADA_PASSWORD).status_code == 302
        return answer

    monkeypatch.setattr(ldap_accounts.DirectoryAccounts, "entry_name", meanwhile)
    response = directory_sign_in(Client(), "ada", nova.password)
    print("nova", response.status_code)


def test_race_sync(slapd, directory, monkeypatch, settings):
    """A sync page holding only Nova's "ada" (LDAP_PAGE_SIZE=1 and Nova's entry read first),
    while Ada signs in as "ada.king"."""
    from directory import ldap_accounts, mirror
    from directory.accounts import accounts, config

    sync_directory()
    ada = _with_email("ada")
    _rename(slapd, "ada", "ada.king")
    nova = _newcomer_named(slapd, "ada")
    store, conf = accounts(), config()

    def meanwhile(found_id):
        with store.service() as c:
            answer = store.entry_name(c, found_id)
        assert directory_sign_in(Client(), "ada.king", ADA_PASSWORD).status_code == 302
        return answer

    with store.service() as conn:
        dn, attrs = store.find(conn, "ada", conf.attribute_names())
        page = {"ada": (dn, {name.lower(): values for name, values in attrs.items()})}
    mirror.follow_renames(page, conf, named=meanwhile)


# --- 5. Dry run, page by page -----------------------------------------------------------------


def test_dry_run_page_by_page(slapd, settings):
    use_directory(settings, {**slapd.environment(), "LDAP_PAGE_SIZE": "1"})
    sync_directory()
    ada = _with_email("ada")
    _rename(slapd, "ada", "ada.king")
    _newcomer_named(slapd, "ada")
    said = io.StringIO()
    call_command("sync_directory", "--dry-run", stdout=said, stderr=io.StringIO())
    print("dry:", said.getvalue())
    said = io.StringIO()
    call_command("sync_directory", stdout=said, stderr=io.StringIO())
    print("real:", said.getvalue())
    print("state", _state(ada))
