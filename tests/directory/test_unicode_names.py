"""Names and DNs the directory lowers otherwise than Python does (docs/security.md §39): a
capital dotted "İ" (Python: "i̇", two characters; the directory: "i") and a word-final "Σ"
(Python: "ς"; the directory: "σ"). The person binds with their DN as the directory wrote it,
and the mirrored name is one the directory finds again."""

from __future__ import annotations

import ldap
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from directory.servers import DEMO_PEOPLE, PEOPLE, SCOPE_GROUP, Person
from directory.sync import sync_directory
from tests.support.directory import directory_sign_in

from .test_openldap import NEW_PASSWORD, prove_with_email, registered, set_new

pytestmark = [pytest.mark.directory, pytest.mark.django_db]

TURKISH = Person("İlker", "Ilker-Directory-2026", "İlker", "Yılmaz", "ilker@example.org")
GREEK = Person("ΝΙΚΟΣ", "Nikos-Directory-2026", "Nikos", "P", "nikos@example.org")


@pytest.fixture
def slapd_people():
    return DEMO_PEOPLE + (TURKISH, GREEK)


@pytest.fixture(autouse=True)
def _quick_captcha(settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000


def binds_as(slapd, dn: str, password: str) -> bool:
    try:
        slapd.connect(dn, password).unbind_s()
        return True
    except ldap.INVALID_CREDENTIALS:
        return False


@pytest.mark.parametrize("cn", ["İbrahim Yılmaz", "ΝΙΚΟΣ Papas"], ids=["dotted-I", "sigma"])
def test_a_person_whose_dn_holds_such_a_letter_signs_in(slapd, directory, cn):
    """Many directories name people by their cn: the DN then holds the letter though the
    name typed is plain ASCII. Before, the site bound with the DN lowered by Python, which the
    directory refused, and every sign-in failed (and counted)."""
    dn = f"cn={cn},{PEOPLE}"
    conn = slapd.connect()
    conn.add_s(
        dn,
        [
            ("objectClass", [b"inetOrgPerson"]),
            ("cn", [cn.encode()]),
            ("sn", [b"Y"]),
            ("uid", [b"ibrahim"]),
            ("userPassword", [b"Ibrahim-Directory-2026"]),
        ],
    )
    conn.modify_s(SCOPE_GROUP, [(ldap.MOD_ADD, "member", [dn.encode()])])
    conn.unbind_s()
    assert binds_as(slapd, dn, "Ibrahim-Directory-2026")
    assert directory_sign_in(Client(), "ibrahim", "Ibrahim-Directory-2026").status_code == 302


@pytest.mark.parametrize("person", [TURKISH, GREEK], ids=["dotted-I", "final-sigma"])
def test_a_name_with_such_a_letter_is_mirrored_as_the_directory_finds_it(
    client, slapd, directory, person
):
    """Before, the sync mirrored "İlker" as "i̇lker" and "ΝΙΚΟΣ" as "νικος", names the
    directory finds nobody under: the person proved who they were and was then told "This
    account cannot be changed here"."""
    sync_directory()
    (user,) = get_user_model().objects.filter(first_name=person.given)
    assert user.username in {"ilker", "νικοσ"}
    registered(user.username, "home@example.net")
    # Typed as the directory writes it, or as it was mirrored: one person.
    prove_with_email(client, username=person.uid, address="home@example.net")
    assert "cannot be changed here" not in set_new(client, NEW_PASSWORD).content.decode()
    assert binds_as(slapd, f"uid={person.uid},{PEOPLE}", NEW_PASSWORD)
    assert directory_sign_in(Client(), user.username, NEW_PASSWORD).status_code == 302
    assert get_user_model().objects.filter(first_name=person.given).count() == 1


@pytest.mark.parametrize("found_by", ["sync", "sign-in"])
def test_a_person_mirrored_by_a_release_before_keeps_their_row(slapd, directory, found_by):
    """Releases before lowered a name as a whole word ("ΝΙΚΟΣ" as "νικος"). The person's row,
    with their methods, takes the new spelling: no second row, nothing left to be purged."""
    from django.utils import timezone

    from methods.models import AuthenticationEmail

    sync_directory()
    User = get_user_model()
    (user,) = User.objects.filter(first_name="Nikos")
    User.objects.filter(pk=user.pk).update(username=GREEK.uid.lower())  # as mirrored before
    AuthenticationEmail.objects.create(
        user=user, email="home@example.net", verified_at=timezone.now()
    )
    if found_by == "sync":
        sync_directory()
    else:
        assert directory_sign_in(Client(), "ΝΙΚΟΣ", GREEK.password).status_code == 302
    rows = list(User.objects.filter(first_name="Nikos").values_list("pk", "username", "is_active"))
    assert rows == [(user.pk, "νικοσ", True)]
    assert AuthenticationEmail.objects.filter(user=user).exists()
