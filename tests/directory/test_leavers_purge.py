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
    assert AuthenticationEmail.objects.filter(user=grace).exists()  # nobody else's is touched
    # Found once: neither a second sync nor a sign-in forgets anything again.
    sync_directory()
    assert directory_sign_in(Client(), "ada", newcomer.password).status_code == 302
    assert Event.objects.filter(kind=EventKind.DIRECTORY_NAME_REUSED).count() == 1
