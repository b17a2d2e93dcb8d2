"""The directory settings: what the environment says, and what the system checks refuse."""

from __future__ import annotations

import pytest

from directory.checks import directory_encrypted_in_production, directory_settings
from directory.conf import DirectoryConfig

BASE = {
    "SSPR_DIRECTORY": "openldap",
    "LDAP_BIND_DN": "cn=sspr,ou=services,dc=example,dc=org",
    "LDAP_BIND_PASSWORD": "secret",
    "LDAP_USER_BASE": "ou=people,dc=example,dc=org",
    "LDAP_PASSWORD_POLICY_DN": "cn=default,ou=policies,dc=example,dc=org",
}


def ids(settings, **env) -> set[str]:
    from directory.accounts import reset_caches

    settings.SSPR_DIRECTORY_CONFIG = DirectoryConfig.from_env({**BASE, **env})
    reset_caches()
    return {message.id for message in directory_settings(None)} | {
        message.id for message in directory_encrypted_in_production(None)
    }


def test_defaults():
    conf = DirectoryConfig.from_env({})
    assert conf.kind == "none" and not conf.enabled
    openldap = DirectoryConfig.from_env({"SSPR_DIRECTORY": "openldap"})
    assert openldap.user_filter == "(uid=%(user)s)" and openldap.start_tls
    ad = DirectoryConfig.from_env({"SSPR_DIRECTORY": "active_directory"})
    assert ad.user_filter == "(sAMAccountName=%(user)s)" and ad.attr_username == "sAMAccountName"
    assert (openldap.attr_email, openldap.attr_office_phone) == ("mail", "telephoneNumber")


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="SSPR_DIRECTORY must be one of"):
        DirectoryConfig.from_env({"SSPR_DIRECTORY": "ldap"})


def test_plain_ldap_to_another_machine_is_refused(settings):
    assert "sspr.E012" in ids(settings, LDAP_URI="ldap://ldap.example.org", LDAP_START_TLS="0")


@pytest.mark.parametrize(
    "uri", ["ldap://127.0.0.1:3389", "ldap://localhost", "ldap://[::1]", "ldapi:///"]
)
def test_plain_ldap_on_this_machine_is_allowed_but_not_for_deployment(settings, uri):
    found = ids(settings, LDAP_URI=uri, LDAP_START_TLS="0")
    assert "sspr.E012" not in found
    assert ("sspr.W010" in found) == (not uri.startswith("ldapi"))


@pytest.mark.parametrize(
    ("uri", "start_tls"), [("ldap://ldap.example.org", "1"), ("ldaps://ldap.example.org", "0")]
)
def test_an_encrypted_connection_passes_every_check(settings, uri, start_tls):
    assert ids(settings, LDAP_URI=uri, LDAP_START_TLS=start_tls) == set()


def test_missing_settings_and_a_filter_without_the_name(settings):
    found = ids(settings, LDAP_URI="ldaps://x", LDAP_BIND_DN="", LDAP_USER_FILTER="(uid=x)")
    assert {"sspr.E010", "sspr.E014"} <= found


def test_active_directory_needs_encryption(settings):
    found = ids(
        settings, SSPR_DIRECTORY="active_directory", LDAP_URI="ldap://127.0.0.1", LDAP_START_TLS="0"
    )
    assert "sspr.E013" in found


def test_openldap_without_its_default_policy_is_warned_about(settings):
    """Without the policy entry the lockout threshold cannot be read (docs/security.md §40)."""
    uri = "ldaps://ldap.example.org"
    assert "sspr.W014" in ids(settings, LDAP_URI=uri, LDAP_PASSWORD_POLICY_DN=" ")
    assert "sspr.W014" not in ids(
        settings, SSPR_DIRECTORY="active_directory", LDAP_URI=uri, LDAP_PASSWORD_POLICY_DN=""
    )


def test_django_mode_has_nothing_to_check(settings):
    from directory.accounts import reset_caches

    settings.SSPR_DIRECTORY_CONFIG = DirectoryConfig.from_env({})
    reset_caches()
    assert directory_settings(None) == [] and directory_encrypted_in_production(None) == []


@pytest.mark.parametrize(
    ("user_filter", "takes_mail"),
    [
        ("(uid=%(user)s)", False),
        ("(|(uid=%(user)s)(mail=%(user)s))", True),
        ("( | ( uid = %(user)s ) ( MAIL = %(user)s ) )", True),
        ("(&(objectClass=person)(|(uid=%(user)s)(mail=%(user)s)))", True),
        ("(mail=%(user)s)", True),
        # Excluded, or a further condition on the same name: a mail typed finds nobody.
        ("(&(uid=%(user)s)(!(mail=%(user)s)))", False),
        ("(&(uid=%(user)s)(mail=%(user)s))", False),
        ("(|(uid=%(user)s)(!(mail=%(user)s)))", False),
        # Another attribute that merely ends in "mail", and a filter that cannot be read.
        ("(|(uid=%(user)s)(othermail=%(user)s))", False),
        ("(|(uid=%(user)s)(mail=%(user)s)", False),
    ],
)
def test_the_mail_is_taken_as_a_name_only_where_the_filter_finds_people_by_it(
    user_filter, takes_mail
):
    conf = DirectoryConfig.from_env({**BASE, "LDAP_USER_FILTER": user_filter})
    assert conf.matches_mail is takes_mail
