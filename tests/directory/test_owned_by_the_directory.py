"""In directory mode the directory owns the office phone: the admin shows it read-only and the
import refuses it, with a message at the cell."""

from __future__ import annotations

import pytest

from methods.models import OfficePhone
from tests.methods.test_contact_import import HEADER, run
from tests.support.directory import use_directory

pytestmark = [pytest.mark.directory, pytest.mark.django_db]

ENVIRONMENT = {
    "SSPR_DIRECTORY": "openldap",
    "LDAP_URI": "ldap://127.0.0.1:9",
    "LDAP_BIND_DN": "cn=sspr,dc=example,dc=org",
    "LDAP_BIND_PASSWORD": "unused",
    "LDAP_USER_BASE": "dc=example,dc=org",
}


@pytest.fixture
def directory_mode(settings):
    use_directory(settings, ENVIRONMENT)
    yield
    from directory.accounts import reset_caches

    reset_caches()


def test_the_admin_shows_the_office_phone_read_only(directory_mode, admin_client, make_user):
    bob = make_user("bob")
    OfficePhone.objects.create(user=bob, number="+442071838750")
    page = admin_client.get(f"/admin/auth/user/{bob.pk}/change/").content.decode()
    assert "office phone (from the directory)" in page.lower()
    assert 'name="office_phone-0-number"' not in page  # no input to change it
    assert "+442071838750" in page or "+44 20 7183 8750" in page  # but it is shown


def test_the_import_refuses_office_phones(tmp_path, make_user, directory_mode):
    make_user("ann", password=None)
    out, _err, error = run(tmp_path, HEADER + "ann,+44 20 7183 8750,,,no\n")
    assert "the directory sets office phones" in (error or "") + out
    assert not OfficePhone.objects.exists()


def test_the_import_page_says_office_phones_come_from_the_directory(directory_mode, admin_client):
    page = admin_client.get("/admin/auth/user/import-contact-info/").content.decode()
    assert "Office phones come from the directory" in page
    assert "Office phones are set directly" not in page


def test_people_are_not_added_in_the_admin(directory_mode, admin_client):
    """People come from the directory: an account added here could never sign in."""
    assert admin_client.get("/admin/auth/user/add/").status_code == 403
    assert (
        'href="/admin/auth/user/add/"' not in admin_client.get("/admin/auth/user/").content.decode()
    )
