"""Sign-in against the directory, for /ssprsetup and /admin alike.

People are mirrored into Django on each sign-in (`directory.mirror`): names, email and office
phone come from the directory and are refreshed every time; the local password is unusable, so
the directory stays the only place a password is checked. A wrong password, an unknown name,
a locked or out-of-scope account all fail the same way (docs/security.md §35).
"""

from __future__ import annotations

import ldap
from django.contrib.auth.backends import ModelBackend
from django.dispatch import receiver
from django_auth_ldap.backend import LDAPBackend, populate_user
from django_auth_ldap.config import (
    GroupOfNamesType,
    LDAPSearch,
    LDAPSettings,
    NestedActiveDirectoryGroupType,
)

from . import mirror
from .accounts import config


def ldap_settings(conf) -> dict:
    options = {
        ldap.OPT_PROTOCOL_VERSION: 3,
        ldap.OPT_REFERRALS: 0,
        ldap.OPT_NETWORK_TIMEOUT: conf.timeout,
        ldap.OPT_TIMEOUT: conf.timeout,
        ldap.OPT_X_TLS_REQUIRE_CERT: ldap.OPT_X_TLS_DEMAND,
    }
    if conf.ca_file:
        options[ldap.OPT_X_TLS_CACERTFILE] = conf.ca_file
    options[ldap.OPT_X_TLS_NEWCTX] = 0  # last: makes the TLS options above take effect
    group_class = "(objectClass=group)" if conf.is_ad else "(objectClass=groupOfNames)"
    flags = {}
    if conf.staff_group or conf.superuser_group:
        flags["is_staff"] = [g for g in (conf.staff_group, conf.superuser_group) if g]
    if conf.superuser_group:
        flags["is_superuser"] = conf.superuser_group
    return {
        "SERVER_URI": conf.uri,
        "BIND_DN": conf.bind_dn,
        "BIND_PASSWORD": conf.bind_password,
        "START_TLS": conf.start_tls and conf.uri.lower().startswith("ldap://"),
        "CONNECTION_OPTIONS": options,
        "USER_SEARCH": LDAPSearch(conf.user_base, ldap.SCOPE_SUBTREE, conf.user_filter),
        "USER_ATTRLIST": conf.attribute_names(),
        "GROUP_SEARCH": LDAPSearch(
            conf.group_base or conf.user_base, ldap.SCOPE_SUBTREE, group_class
        )
        if (conf.group_base or conf.scope_group or flags)
        else None,
        "GROUP_TYPE": NestedActiveDirectoryGroupType() if conf.is_ad else GroupOfNamesType(),
        "REQUIRE_GROUP": conf.scope_group or None,
        "USER_FLAGS_BY_GROUP": flags,
        "ALWAYS_UPDATE_USER": True,
        "CACHE_TIMEOUT": 0,
    }


class DirectoryBackend(LDAPBackend):
    settings_prefix = "SSPR_UNUSED_AUTH_LDAP_"  # everything comes from SSPR_DIRECTORY_CONFIG

    @property
    def settings(self):
        if self._settings is None:
            self._settings = LDAPSettings(self.settings_prefix, ldap_settings(config()))
        return self._settings

    @settings.setter
    def settings(self, value):
        self._settings = value

    def ldap_to_django_username(self, username):
        return username.strip()

    def django_to_ldap_username(self, username):
        return username.strip()

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is not None:
            # Now the user has a primary key: the office phone and the directory link.
            mirror.after_save(user, ldap_user.dn, _attrs(ldap_user), config())
        return user


@receiver(populate_user, sender=DirectoryBackend)
def _mirror_on_sign_in(sender, user, ldap_user, **kwargs):
    """Before the mirrored user is saved: the directory's fields, and no local password. A
    password already unusable is left as it is: a new one would end the person's other
    sessions, which only a new password should do."""
    mirror.apply_fields(user, _attrs(ldap_user), config())
    user.is_active = True
    if user.has_usable_password():
        user.set_unusable_password()


def _attrs(ldap_user) -> dict[str, list[str]]:
    return {name.lower(): list(values) for name, values in (ldap_user.attrs or {}).items()}


class PermissionsBackend(ModelBackend):
    """Permissions granted in the admin (the helpdesk's, for instance) still count; no password
    is ever checked here."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        return None
