"""`sync_directory`: a paged search mirrors everyone in scope; leavers are deactivated, then
their recovery data removed; a second run changes nothing; memory stays flat."""

from __future__ import annotations

import datetime
import io
import tracemalloc

import ldap
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import Event, EventKind
from directory.models import DirectoryAccount
from directory.servers import PEOPLE, Person
from directory.sync import sync_directory
from methods.models import AuthenticationEmail, OfficePhone
from tests.support.directory import use_directory

pytestmark = [pytest.mark.directory, pytest.mark.django_db]


def run_sync(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_directory", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def add_people(slapd, count: int, start: int = 0) -> None:
    conn = slapd.connect()
    people = [
        Person(
            f"p{n:06d}",
            f"Pw-{n:06d}-long-enough",
            "Person",
            f"N{n}",
            f"p{n}@example.org",
            groups=(),
        )
        for n in range(start, start + count)
    ]
    slapd.add_people(conn, people, groups=False)
    conn.unbind_s()


def test_sync_mirrors_the_scope_and_a_second_run_changes_nothing(slapd, directory):
    out, err = run_sync()
    users = get_user_model().objects.order_by("username")
    # The scope group holds ada, grace and ken; outsider is under the base but not in scope.
    assert list(users.values_list("username", flat=True)) == ["ada", "grace", "ken"]
    assert "People in scope: 3. Added: 3." in out
    assert "page 1" in err  # progress
    ada = users.get(username="ada")
    assert not ada.has_usable_password() and ada.email == "ada@example.org"
    assert str(OfficePhone.objects.get(user=ada).number) == "+442079460101"
    assert users.get(username="ken").is_staff and not users.get(username="grace").is_staff
    before = list(users.values())
    out, _ = run_sync()
    assert "Added: 0. Updated: 0. Deactivated (left): 0." in out
    assert list(users.values()) == before


def test_sync_updates_what_changed_in_the_directory(slapd, directory):
    run_sync()
    conn = slapd.connect()
    conn.modify_s(
        f"uid=grace,{PEOPLE}", [(ldap.MOD_REPLACE, "telephoneNumber", [b"+33 1 42 68 53 00"])]
    )
    conn.modify_s(f"uid=ada,{PEOPLE}", [(ldap.MOD_REPLACE, "givenName", [b"Augusta"])])
    out, _ = run_sync()
    assert "Added: 0. Updated: 2." in out
    assert get_user_model().objects.get(username="ada").first_name == "Augusta"
    assert str(OfficePhone.objects.get(user__username="grace").number) == "+33142685300"


def test_leavers_are_deactivated_then_their_recovery_data_removed(slapd, directory):
    run_sync()
    grace = get_user_model().objects.get(username="grace")
    AuthenticationEmail.objects.create(
        user=grace, email="g@example.net", verified_at=timezone.now()
    )
    conn = slapd.connect()
    conn.delete_s(f"uid=grace,{PEOPLE}")
    out, _ = run_sync()
    assert "Deactivated (left): 1." in out
    grace.refresh_from_db()
    assert not grace.is_active
    assert AuthenticationEmail.objects.filter(user=grace).exists()  # kept for the retention
    assert Event.objects.filter(kind=EventKind.DIRECTORY_LEFT, subject=grace).exists()
    # After the retention (30 days by default), the data goes, and that is audited.
    later = timezone.now() + datetime.timedelta(days=31)
    sync_directory(now=later)
    assert not AuthenticationEmail.objects.filter(user=grace).exists()
    assert DirectoryAccount.objects.get(user=grace).data_removed_at == later
    assert Event.objects.filter(kind=EventKind.DIRECTORY_DATA_REMOVED, subject=grace).exists()


def test_a_directory_returning_nobody_deactivates_nobody(slapd, settings, directory):
    run_sync()
    use_directory(settings, {**slapd.environment(), "LDAP_USER_FILTER": "(uid=nobody-%(user)s)"})
    with pytest.raises(CommandError, match="nobody was deactivated"):
        run_sync()
    assert get_user_model().objects.filter(is_active=True).count() == 3


def test_sync_with_the_directory_down_changes_nothing(slapd, directory):
    run_sync()
    slapd.stop()
    with pytest.raises(CommandError, match="cannot be reached; nothing was changed"):
        run_sync()
    assert get_user_model().objects.filter(is_active=True).count() == 3


def test_dry_run_changes_nothing(slapd, directory):
    out, _ = run_sync("--dry-run")
    assert "To add: 3." in out and "Nothing was changed." in out
    assert not get_user_model().objects.exists()


def _peak_of_sync() -> int:
    tracemalloc.start()
    try:
        sync_directory()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_many_people_are_read_in_pages_with_flat_memory(slapd, settings, db):
    """2,000 and then 6,000 people, pages of 200: the peak memory of a sync stays flat."""
    use_directory(
        settings, {**slapd.environment(), "LDAP_SCOPE_GROUP": "", "LDAP_PAGE_SIZE": "200"}
    )
    add_people(slapd, 2000)
    small = _peak_of_sync()
    assert get_user_model().objects.count() == 2000 + 4  # the demo people too, outsider included
    add_people(slapd, 4000, start=2000)
    out, err = run_sync()
    assert "People in scope: 6,004. Added: 4,000." in out
    assert "page 31" in err
    large = _peak_of_sync()  # a run over 6,004 people with nothing to change
    assert large < small * 1.5, (small, large)


def test_people_who_never_signed_in_count_as_not_registered(slapd, directory, helpdesk_client):
    run_sync()
    page = helpdesk_client.get("/helpdesk/?state=not_registered").content.decode()
    for name in ("ada", "grace", "ken"):
        assert f">{name}<" in page


def test_a_second_sync_at_the_same_time_is_refused(slapd, directory):
    from django.core.cache import cache

    from directory.sync import LOCK_KEY

    cache.add(LOCK_KEY, True, timeout=60)  # another run holds the lock
    with pytest.raises(CommandError, match="Another directory sync is running"):
        run_sync()
    assert not get_user_model().objects.exists()
    cache.delete(LOCK_KEY)
    run_sync()
    assert get_user_model().objects.count() == 3


def test_the_sync_drops_a_password_list_read_more_than_a_day_ago(slapd, directory):
    """The helpdesk's password list keeps names and masked addresses no longer than a day
    after it was read, whether or not anyone opens it again (directory/password_life.py)."""
    from directory.models import PasswordLife, PasswordScan

    now = timezone.now()
    old = PasswordScan.objects.create(read_at=now - datetime.timedelta(days=2), complete=True)
    PasswordLife.objects.create(scan=old, username="grace", email="g•••@example.net")
    recent = PasswordScan.objects.create(read_at=now - datetime.timedelta(hours=2), complete=True)
    run_sync()
    assert list(PasswordScan.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not PasswordLife.objects.exists()


def test_someone_the_directory_makes_staff_is_held_to_the_administrators_rule(slapd, directory):
    """Made staff by the directory's group, a person registered with one method is no longer
    registered at the next sync (an administrator's registration needs two methods, never
    security questions), and their history says why."""
    from directory.servers import STAFF_GROUP
    from methods.models import AuthenticationPhone
    from policy.models import Policy
    from registration.models import Registration

    policy = Policy.load()
    policy.methods_required = policy.reset_methods_required = 1
    policy.save()
    sync_directory()
    ada = get_user_model().objects.get(username="ada")
    AuthenticationPhone.objects.create(user=ada, number="+447400123456", verified_at=timezone.now())
    Registration.objects.create(user=ada, completed_at=timezone.now())
    conn = slapd.connect()
    conn.modify_s(STAFF_GROUP, [(ldap.MOD_ADD, "member", [f"uid=ada,{PEOPLE}".encode()])])
    conn.unbind_s()
    sync_directory()
    ada.refresh_from_db()
    assert ada.is_staff
    assert Registration.objects.get(user=ada).completed_at is None
    event = Event.objects.get(kind=EventKind.REGISTRATION_LAPSED, subject=ada)
    assert event.details == {"methods_left": ["authentication_phone"], "reason": "made_staff"}
