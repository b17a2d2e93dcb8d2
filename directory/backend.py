"""Sign-in against the directory, for /ssprsetup and /admin alike.

People are mirrored into Django on each sign-in (`directory.mirror`): names, email and office
phone come from the directory and are refreshed every time; the local password is unusable, so
the directory stays the only place a password is checked. A wrong password, an unknown name,
a locked or out-of-scope account all fail the same way (docs/security.md §35).
"""

from __future__ import annotations

import contextvars
import logging
import time

import ldap
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django_auth_ldap.backend import LDAPBackend, ldap_error, populate_user
from django_auth_ldap.config import (
    GroupOfNamesType,
    LDAPSearch,
    LDAPSettings,
    NestedActiveDirectoryGroupType,
)

from . import lockout, mirror
from .accounts import (
    ChangeNeeded,
    DirectoryRefused,
    DirectoryUnavailable,
    NameWaits,
    accounts,
    breaker_open,
    config,
    note_reachable,
    note_unreachable,
)
from .ldap_accounts import FINE, MUST_CHANGE, UNREACHABLE

# The error django-auth-ldap met while signing someone in (it reports errors by signal).
_error: contextvars.ContextVar[ldap.LDAPError | None] = contextvars.ContextVar(
    "sspr_directory_error", default=None
)

logger = logging.getLogger("sspr.directory")


class EntrySearch(LDAPSearch):
    """The people search of sign-in: the entry's DN kept as the directory wrote it (the
    library lower-cases it, and a lower-cased Unicode DN is another name: "İ" becomes "i̇" and
    a word-final "Σ" becomes "ς", which the directory matches with nothing), so the person
    binds with their own DN; and the entry's lasting id read with its attributes (an
    operational attribute in OpenLDAP, which "*" does not return)."""

    def _process_results(self, results):
        kept = [result for result in results if result[0] is not None]
        processed = super()._process_results(kept)
        return [(dn, attrs) for (dn, _raw), (_lower, attrs) in zip(kept, processed, strict=True)]


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
        "USER_SEARCH": EntrySearch(
            conf.user_base, ldap.SCOPE_SUBTREE, conf.user_filter, ["*", conf.attr_entry_id]
        ),
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
        # One mirrored user per account, however the name was typed (docs/security.md §39).
        return accounts().canonical_username(username)

    def django_to_ldap_username(self, username):
        return username.strip()

    def get_or_build_user(self, username, ldap_user):
        """The row of the person signing in. One renamed in the directory signs in to the row
        they had, with their methods; a name they left is someone new's (mirror.
        follow_renames)."""

        def named(found_id: str) -> str | None:
            store = accounts()
            with store.service() as conn:
                return store.entry_name(conn, found_id)

        entry = {username: (ldap_user.dn, _attrs(ldap_user))}
        if username in mirror.follow_renames(entry, config(), named=named).held:
            # The name's row is someone's still in the directory: nothing of theirs is given
            # to this entry, which cannot sign in until the sync has sorted the names out. Not
            # a failed sign-in (the password was right): a page of its own, counted nowhere.
            logger.warning("directory sign-in waits: the name's row is another person's")
            raise NameWaits(username)
        return super().get_or_build_user(username, ldap_user)

    def get_user(self, user_id):
        """The session's person, as long as their account is on: once the sync (or an
        administrator) turns it off, their sessions sign them out, as the embedded mode's do."""
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def authenticate(self, request, username=None, password=None, **kwargs):
        """A failed sign-in takes at least the configured floor, whichever kind of name it
        was (unknown, wrong password, out of scope, locked, disabled), so the time tells
        nothing (docs/security.md §42). A directory that cannot be reached, or refuses,
        raises: the page says so and nothing counts toward any lockout (§41)."""
        started = time.monotonic()
        try:
            user = super().authenticate(request, username, password, **kwargs)
        except PermissionDenied:
            _wait_until(started + config().sign_in_floor)
            raise
        if user is None:
            _wait_until(started + config().sign_in_floor)
        return user

    def authenticate_ldap_user(self, ldap_user, password):
        if breaker_open():
            raise DirectoryUnavailable("the circuit breaker is open")
        token = _error.set(None)
        try:
            try:
                dn = ldap_user.dn
            except ldap.LDAPError as error:
                _raise_for(error)
            if dn is None and _error.get() is not None:
                _raise_for(_error.get())
            if dn is None:
                user = super().authenticate_ldap_user(ldap_user, password)
            else:
                # Mirrored under the entry's own name, not as typed: a filter that also
                # matches another attribute (mail, a UPN) finds the same person, who is
                # one user here too (docs/security.md §39).
                own = mirror.first(_attrs(ldap_user), config().attr_username)
                if own:
                    ldap_user._username = own
                    mirror.adopt_old_spelling([own])
                lockout.note_entry(ldap_user._request, ldap_user._username)
                user = self._tried(ldap_user, password)
            if user is None and _error.get() is not None:
                _raise_for(_error.get())
        finally:
            _error.reset(token)
        note_reachable()
        if user is not None:
            # Now the user has a primary key: the office phone and the directory link.
            mirror.after_save(user, ldap_user.dn, _attrs(ldap_user), config())
        return user

    def _tried(self, ldap_user, password):
        """The password tried as the person, counted among the name's tries in flight while
        the bind lasts; not tried when one more wrong password could make the directory lock
        the account. The page then reads as for any failed sign-in, so it tells nobody that
        the account exists or is nearly locked (docs/security.md §40)."""
        with accounts().password_try(ldap_user._username) as allowed:
            if not allowed:
                return None
            ldap_user._authenticate_user_dn = lambda password: _checked_bind(ldap_user, password)
            return super().authenticate_ldap_user(ldap_user, password)


def _checked_bind(ldap_user, password: str) -> None:
    """django-auth-ldap's bind as the person, with the password policy control: a password
    the directory says expired or must change (and only the right one hears that) sends a
    person in scope to change it (ChangeNeeded); anyone else fails as any wrong password
    does (docs/security.md §35)."""
    if ldap_user.dn is None:
        raise ldap_user.AuthenticationFailed("failed to map the username to a DN.")
    try:
        state = accounts().bind_state(ldap_user._get_connection(), ldap_user.dn, password)
    except ldap.INVALID_CREDENTIALS as error:
        raise ldap_user.AuthenticationFailed("user DN/password rejected.") from error
    finally:
        ldap_user._connection_bound = False  # the next search binds as the service account
    if state == FINE:
        return
    ldap_user._check_requirements()  # out of scope: AuthenticationFailed, as for anyone
    ldap_user._get_or_create_user()
    user = ldap_user._user
    mirror.after_save(user, ldap_user.dn, _attrs(ldap_user), config())
    raise ChangeNeeded(user, MUST_CHANGE if state == MUST_CHANGE else "expired")


def _raise_for(error: ldap.LDAPError):
    if isinstance(error, UNREACHABLE):
        note_unreachable()
        raise DirectoryUnavailable from error
    raise DirectoryRefused("sign_in", type(error).__name__) from error


def _wait_until(deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


@receiver(ldap_error, sender=DirectoryBackend)
def _remember_error(sender, context, exception, **kwargs):
    _error.set(exception)


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
