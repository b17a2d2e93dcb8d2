"""The admin's "Set password" in directory mode: a directory person's password lives in the
directory, so the admin's page says so and changes nothing; a local account keeps Django's
form."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from directory.models import DirectoryAccount

pytestmark = pytest.mark.django_db

NEW = "Admin-Set-Local-Pass-772"


@pytest.fixture
def directory_mode(monkeypatch):
    """The account store as in directory mode (the directory itself is not asked here: the
    page only tells a directory account from a local one)."""
    monkeypatch.setattr("registration.admin.accounts", lambda: SimpleNamespace(kind="openldap"))


def _set_password(admin_client, user):
    return admin_client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": NEW, "password2": NEW, "set_usable_password": "true"},
    )


def test_a_directory_persons_password_is_not_set_here(admin_client, make_user, directory_mode):
    grace = make_user("grace", password=None)
    DirectoryAccount.objects.create(user=grace, dn="uid=grace,ou=people,dc=example,dc=org")
    before = grace.password

    change = admin_client.get(f"/admin/auth/user/{grace.pk}/change/").content.decode()
    assert "password lives in the directory and cannot be set here" in change
    assert "Kept in the directory" in change
    assert "No password set" not in change and "Set password" not in change

    for response in (
        admin_client.get(f"/admin/auth/user/{grace.pk}/password/"),
        _set_password(admin_client, grace),
    ):
        assert response.status_code == 200
        page = response.content.decode()
        assert "The password of grace lives in the organisation's directory" in page
        assert "Nothing was changed." in page
        assert "/passwordreset/" in page and "temporary access pass" in page
        assert 'name="password1"' not in page
    grace.refresh_from_db()
    assert grace.password == before and not grace.has_usable_password()


def test_a_directory_persons_active_box_is_shown_not_offered(
    admin_client, make_user, directory_mode
):
    """Whether a directory person's account is on is the directory's: its sign-in and the
    sync set it again, so a box ticked off here was undone at the person's next sign-in. The
    page shows it and offers no box; a local account keeps it."""
    grace = make_user("grace", password=None)
    DirectoryAccount.objects.create(user=grace, dn="uid=grace,ou=people,dc=example,dc=org")
    page = admin_client.get(f"/admin/auth/user/{grace.pk}/change/").content.decode()
    assert 'name="is_active"' not in page and "Active" in page
    local = make_user("breakglass", password=None)
    page = admin_client.get(f"/admin/auth/user/{local.pk}/change/").content.decode()
    assert 'name="is_active"' in page


def test_a_local_account_keeps_djangos_password_form(admin_client, make_user, directory_mode):
    """Django's form, and what it sets is on record: the person's history and the helpdesk
    say an administrator set it, and who (before, nothing did)."""
    from audit.models import Event, EventKind

    local = make_user("breakglass", password=None)
    page = admin_client.get(f"/admin/auth/user/{local.pk}/password/").content.decode()
    assert 'name="password1"' in page
    refused = admin_client.post(
        f"/admin/auth/user/{local.pk}/password/",
        {"password1": NEW, "password2": "not the same", "set_usable_password": "true"},
    )
    assert refused.status_code == 200
    assert not Event.objects.filter(kind=EventKind.PASSWORD_SET_BY_ADMIN).exists()
    assert _set_password(admin_client, local).status_code == 302
    (event,) = Event.objects.filter(kind=EventKind.PASSWORD_SET_BY_ADMIN)
    assert event.subject == local and event.actor == admin_client.admin
    status = admin_client.get(f"/helpdesk/users/{local.pk}/").content.decode()
    assert "Password set by an administrator" in status
    local.refresh_from_db()
    assert local.check_password(NEW)


def test_with_django_accounts_a_leftover_directory_link_changes_nothing(admin_client, make_user):
    """Back in Django's own accounts (SSPR_DIRECTORY=none) the local password is the one."""
    former = make_user("former", password=None)
    DirectoryAccount.objects.create(user=former, dn="uid=former,ou=people,dc=example,dc=org")
    assert _set_password(admin_client, former).status_code == 302
    former.refresh_from_db()
    assert former.check_password(NEW)
