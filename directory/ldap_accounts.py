"""Accounts in the organisation's directory: OpenLDAP with the password policy overlay, or
Active Directory. Only imported when SSPR_DIRECTORY names one of them.

The service account reads people and resets or unlocks them; a person's own password change is
done over their own bind, so every rule of the directory applies (docs/security.md §34).
Every connection is encrypted unless it stays on this machine (§33).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
import secrets
import time
import unicodedata
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

import ldap
from django.core.cache import cache
from ldap.controls import DecodeControlTuples, LDAPControl
from ldap.controls.ppolicy import PasswordPolicyControl
from ldap.filter import escape_filter_chars

from sspr_site import counting
from sspr_site.metrics import observe_directory

from .accounts import (
    AccountDisabled,
    AccountLocked,
    AccountMissing,
    AccountStatus,
    ChangeUnconfirmed,
    DirectoryRefused,
    DirectoryUnavailable,
    LockoutNear,
    PasswordRefused,
    breaker_open,
    end_sessions,
    failed_in_this_request,
    note_reachable,
    note_unreachable,
)
from .conf import DirectoryConfig

logger = logging.getLogger("sspr.directory")

# Lets the service account clear the policy overlay's own lockout attributes (the directory
# accepts that only with this control and `manage` on those three attributes).
RELAX_RULES = LDAPControl("1.3.6.1.4.1.4203.666.5.12", True, None)
# Asks Active Directory to apply history and minimum age to a reset as to a change. Not
# critical: a domain controller that does not know it still applies length and complexity.
POLICY_HINTS = LDAPControl("1.2.840.113556.1.4.2239", False, b"\x30\x03\x02\x01\x01")
PPOLICY_OID = PasswordPolicyControl.controlType

# The password policy response control's error numbers.
PPOLICY_REASONS = {
    3: "not_allowed",
    4: "wrong_current",
    5: "quality",
    6: "too_short",
    7: "too_young",
    8: "in_history",
}
# "No attributes, only the entry's name" (RFC 4511), for finding whom to change.
NO_ATTRIBUTES = ["1.1"]
# How long a password try counts as under way at most (password_try), should its process end
# without saying it is over: longer than any bind's timeouts.
TRY_HELD_SECONDS = 60
# What the lost-connection errors of python-ldap have in common: nothing was answered.
UNREACHABLE = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR, ldap.BUSY, ldap.UNAVAILABLE)

# Active Directory's rules and flags.
UF_ACCOUNTDISABLE = 0x2
DOMAIN_PASSWORD_COMPLEX = 0x1
AD_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)
AD_REASONS = (
    ("too short", "too_short"),
    ("history", "in_history"),
    ("too young", "too_young"),
    ("minimum password age", "too_young"),
    ("complex", "complexity"),
)


def text(attrs: dict, name: str) -> str:
    values = attrs.get(name) or attrs.get(name.lower()) or []
    return values[0].decode("utf-8", "replace").strip() if values else ""


def connect(conf: DirectoryConfig, dn: str, password: str):
    """An encrypted (or local) connection bound as `dn`. Raises ldap errors as they come."""
    conn = open_connection(conf)
    conn.simple_bind_s(dn, password)
    return conn


def open_connection(conf: DirectoryConfig):
    """An encrypted (or local) connection, not yet bound."""
    conn = ldap.initialize(conf.uri)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, conf.timeout)
    conn.set_option(ldap.OPT_TIMEOUT, conf.timeout)
    conn.timeout = conf.timeout
    if conf.ca_file:
        conn.set_option(ldap.OPT_X_TLS_CACERTFILE, conf.ca_file)
    conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    if conf.start_tls and urlsplit(conf.uri).scheme.lower() == "ldap":
        conn.start_tls_s()
    return conn


# What a bind with the right password can say about it (the README's "Directory": an expired
# or must-change password is changed at /ssprsetup/password/).
FINE, MUST_CHANGE, EXPIRED = "fine", "must_change", "expired"
# Expired, but the directory let this bind through on one of its grace logins.
GRACE = "grace"
# The password policy response control's "password expired" and "change after reset".
PP_EXPIRED, PP_CHANGE_AFTER_RESET = 0, 2
# Active Directory's sub-codes of a refused bind that only the right password gets: the
# password expired (532), or must be changed before the first sign-in (773).
AD_BIND_STATES = {"data 532": EXPIRED, "data 773": MUST_CHANGE}


def _refusal_from(error: ldap.LDAPError) -> str | None:
    """The policy overlay's reason for a refused password, if it gave one."""
    info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    for control in DecodeControlTuples(info.get("ctrls") or []):
        if control.controlType == PPOLICY_OID and control.error is not None:
            return PPOLICY_REASONS.get(control.error, "policy")
    return None


def _ad_refusal(error: ldap.LDAPError) -> str:
    info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    message = str(info.get("info", "")).lower()
    for words, reason in AD_REASONS:
        if words in message:
            return reason
    return "policy"


class DirectoryAccounts:
    """What OpenLDAP and Active Directory share: the service connection and finding people."""

    kind = "directory"

    def __init__(self, conf: DirectoryConfig):
        self.conf = conf

    # --- connections --------------------------------------------------------------------

    @contextmanager
    def service(self, operation: str = "read"):
        """The service account's connection. A directory that cannot be reached (or refuses
        the service account) becomes DirectoryUnavailable, one it answers with another error
        (a right the service account lacks) DirectoryRefused; either way nothing changed.
        While the circuit breaker is open nothing is tried (docs/security.md §41)."""
        if breaker_open():
            raise DirectoryUnavailable("the circuit breaker is open")
        started, outcome = time.monotonic(), "ok"
        try:
            try:
                conn = connect(self.conf, self.conf.bind_dn, self.conf.bind_password)
            except (*UNREACHABLE, ldap.INVALID_CREDENTIALS, ldap.STRONG_AUTH_REQUIRED) as error:
                logger.warning("directory unavailable: %s", type(error).__name__)
                outcome = "unavailable"
                if isinstance(error, UNREACHABLE):
                    note_unreachable()
                raise DirectoryUnavailable from error
            note_reachable()
            try:
                yield conn
            except UNREACHABLE as error:
                logger.warning("directory connection lost: %s", type(error).__name__)
                outcome = "unavailable"
                note_unreachable()
                raise DirectoryUnavailable from error
            except ldap.LDAPError as error:
                logger.warning("directory refused %s: %s", operation, type(error).__name__)
                outcome = "refused"
                raise DirectoryRefused(operation, type(error).__name__) from error
            finally:
                with suppress(ldap.LDAPError):
                    conn.unbind_s()
        finally:
            observe_directory(operation, outcome, time.monotonic() - started)

    def own_connection(self, dn: str, password: str):
        """A connection bound as the person; INVALID_CREDENTIALS comes through as it is."""
        if breaker_open():
            raise DirectoryUnavailable("the circuit breaker is open")
        try:
            return connect(self.conf, dn, password)
        except UNREACHABLE as error:
            note_unreachable()
            raise DirectoryUnavailable from error

    def bind_state(self, conn, dn: str, password: str) -> str:
        """Bind `conn` as the person and say what the directory says of the password: FINE,
        MUST_CHANGE, GRACE (expired, let in on a grace login) or EXPIRED (the bind fails, but
        only the right password hears why; the connection is left unbound). A wrong password
        raises INVALID_CREDENTIALS as it is, so nothing about the account is told before the
        password is proven (docs/security.md §35)."""
        try:
            _type, _data, _id, controls = conn.simple_bind_s(
                dn, password, serverctrls=[PasswordPolicyControl()]
            )
        except ldap.INVALID_CREDENTIALS as error:
            state = self._failed_bind_state(error)
            if state is None:
                raise
            return state
        for control in controls or []:
            if control.controlType != PPOLICY_OID:
                continue
            if control.error == PP_CHANGE_AFTER_RESET:
                return MUST_CHANGE
            if control.graceAuthNsRemaining is not None:
                return GRACE
        return FINE

    def _failed_bind_state(self, error: ldap.LDAPError) -> str | None:
        info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
        for control in DecodeControlTuples(info.get("ctrls") or []):
            if control.controlType == PPOLICY_OID and control.error == PP_EXPIRED:
                return EXPIRED
        message = str(info.get("info", "")).lower()
        for code, state in AD_BIND_STATES.items():
            if code in message:
                return state
        return None

    def canonical_username(self, username: str) -> str:
        # The directory compares names without regard to case or Unicode form; so do the
        # mirror and every lockout, limit and audit key (docs/security.md §39). Each character
        # is lowered on its own, to one character, as the directory lowers it: Python's
        # lowering of a whole word turns "İ" into "i̇" and a word-final "Σ" into "ς", which
        # the directory matches with nothing, so the person's own name would find nobody.
        name = unicodedata.normalize("NFKC", username.strip())
        return "".join(character.lower()[0] for character in name)

    # --- the directory's own lockout (docs/security.md §40) ------------------------------

    def lockout_threshold(self) -> int:
        """Failed binds after which the directory's default policy locks an account (0:
        never), read from the directory and kept for ten minutes."""
        with self.service() as conn:
            return self._policy(conn, self.default_policy_dn())[0]

    @contextmanager
    def password_try(self, username: str):
        """Whether the person's password may be tried now: not when one more wrong password
        could be the one that makes the directory lock the account, i.e. when the failures it
        already counts (from here or anywhere), the tries of the same name in flight on any
        host and this one reach the threshold of the policy that applies to this person. An
        unknown name may be tried. Held until the try is over (docs/security.md §40)."""
        with self._in_flight(username) as tries:
            with self.service() as conn:
                try:
                    # Out of scope too: the site binds before it checks the scope.
                    dn, attrs = self.find(conn, username, self.failure_attributes, scoped=False)
                except AccountMissing:
                    allowed = True
                else:
                    allowed = self._failure_is_safe(conn, attrs, tries)
            yield allowed

    @contextmanager
    def _in_flight(self, username: str):
        """Count this try among those of the same name under way (in the shared cache, so on
        every host) for as long as it lasts; yield how many there are, this one included.
        Counted before the directory's failures are read: a try that ended before the read
        is in them, one still under way is in the count."""
        key = (
            "sspr:directory:trying:"
            + hashlib.sha256(self.canonical_username(username).encode()).hexdigest()
        )
        with counting.under_way(key, TRY_HELD_SECONDS) as tries:
            yield tries

    def _failure_is_safe(self, conn, attrs: dict, tries: int = 1) -> bool:
        threshold, window = self._policy(conn, self.policy_dn_of(attrs))
        return not threshold or self._failures(attrs, window) + tries < threshold

    def _policy(self, conn, policy_dn: str) -> tuple[int, float]:
        """(lockout threshold, seconds over which failures count; 0 for ever) of a policy."""
        if not policy_dn:
            return 0, 0.0
        key = "sspr:directory:policy:" + hashlib.sha256(policy_dn.lower().encode()).hexdigest()
        found = cache.get(key)
        if found is None:
            found = self._read_policy(conn, policy_dn)
            cache.set(key, found, timeout=600)
        return found

    def _lock_duration(self, conn, policy_dn: str) -> float:
        """Seconds a lockout lasts under a policy before it ends by itself (0: until it is
        cleared), read from the directory and kept for ten minutes."""
        if not policy_dn:
            return 0.0
        digest = hashlib.sha256(policy_dn.lower().encode()).hexdigest()
        key = "sspr:directory:lock-duration:" + digest
        found = cache.get(key)
        if found is None:
            found = self._read_lock_duration(conn, policy_dn)
            cache.set(key, found, timeout=600)
        return found

    def check(self) -> None:
        """Raise DirectoryUnavailable unless the service account can bind (for /readyz and the
        portal's first page)."""
        with self.service():
            return None

    # --- people -------------------------------------------------------------------------

    @property
    def takes_mail(self) -> bool:
        """Whether a person's mail names them at the reset portal as it does at sign-in."""
        return self.conf.matches_mail

    def user_filter(self, username: str) -> str:
        return self.conf.user_filter % {"user": escape_filter_chars(username)}

    def find(self, conn, username: str, attributes=None, scoped: bool = True) -> tuple[str, dict]:
        """The person's entry under the user base (and in scope, unless `scoped` is false),
        or AccountMissing."""
        found = [
            (dn, attrs)
            for dn, attrs in conn.search_ext_s(
                self.conf.user_base,
                ldap.SCOPE_SUBTREE,
                self.user_filter(username),
                attrlist=list(attributes or self.conf.attribute_names()),
                sizelimit=2,
            )
            if dn
        ]
        if len(found) != 1 or (
            scoped and not self.in_group(conn, found[0][0], self.conf.scope_group)
        ):
            raise AccountMissing(username)
        return found[0]

    def entry_name(self, conn, found_id: str) -> str | None:
        """The mirrored name of the entry whose lasting id is `found_id` (mirror.entry_id's
        text), when it is in scope; None when the directory has no such entry, or it is out of
        scope (mirror.follow_renames)."""
        if self.conf.is_ad:
            try:
                raw = bytes.fromhex(found_id)
            except ValueError:
                return None
            value = "".join(f"\\{byte:02x}" for byte in raw)
        else:
            value = escape_filter_chars(found_id)
        try:
            found = [
                (dn, attrs)
                for dn, attrs in conn.search_ext_s(
                    self.conf.user_base,
                    ldap.SCOPE_SUBTREE,
                    f"({self.conf.attr_entry_id}={value})",
                    attrlist=[self.conf.attr_username],
                    sizelimit=2,
                )
                if dn
            ]
        except ldap.SIZELIMIT_EXCEEDED:
            return None  # more than two entries with one id: none of them is placed by it
        if len(found) != 1 or not self.in_group(conn, found[0][0], self.conf.scope_group):
            return None
        name = text(found[0][1], self.conf.attr_username)
        return self.canonical_username(name)[:150] if name else None

    def member_filter(self, dn: str) -> str:
        return f"(member={escape_filter_chars(dn)})"

    def in_group(self, conn, dn: str, group: str) -> bool:
        if not group:
            return True
        found = conn.search_ext_s(group, ldap.SCOPE_BASE, self.member_filter(dn), attrlist=["1.1"])
        return bool([entry for entry in found if entry[0]])

    # --- the operations every store has -------------------------------------------------

    def set_password(self, user, password: str) -> None:
        before = None
        try:
            with self.service("reset") as conn:
                dn, attrs = self._entry_to_change(conn, user, with_attributes=True)
                before, sent_at = text(attrs, self.changed_attribute), time.time()
                self._reset(conn, dn, password)
        except DirectoryUnavailable as lost:
            if before is None:
                raise  # nothing was sent
            self._landed(user, before, lost, sent_at)
            # Taken: what the reset does after the password, where the directory answers.
            with suppress(DirectoryUnavailable, DirectoryRefused), self.service("reset") as conn:
                self._after_reset(conn, dn)
        end_sessions(user)
        logger.info("directory password reset user=%s", user.pk)

    def _landed(self, user, before: str, lost: DirectoryUnavailable, sent_at: float) -> None:
        """After the connection was lost with a new password sent: return if the directory
        took it (the entry's time of its last password change moved), as if it had answered;
        raise DirectoryUnavailable if it did not, and ChangeUnconfirmed if it cannot be
        asked. A page then never says "nothing was changed" of a password that was.

        Asked over a new connection, once: not after a timeout (a directory that hangs costs
        one timeout a request, docs/security.md §41), nor while the circuit breaker is open."""
        if isinstance(lost.__cause__, ldap.TIMEOUT):
            self._unconfirmed(user, lost)
        token = failed_in_this_request.set(False)  # the connection dropped; it did not hang
        try:
            with self.service() as conn:
                _dn, attrs = self.find(conn, user.get_username(), [self.changed_attribute])
        except (DirectoryUnavailable, DirectoryRefused, AccountMissing) as error:
            self._unconfirmed(user, error)
        finally:
            failed_in_this_request.reset(token)
        after = text(attrs, self.changed_attribute)
        if (not after and not self.keeps_change_times()) or (
            after and after == before and self._changed_lately(after, sent_at)
        ):
            # No time kept (no password policy), or one the change sent would not move.
            self._unconfirmed(user, lost)
        if after == before:
            raise DirectoryUnavailable("the new password did not reach the directory")
        logger.warning("directory password written, its answer lost user=%s", user.pk)

    def _unconfirmed(self, user, cause: Exception):
        """The new password may have been set: ChangeUnconfirmed, for the caller to end the
        person's sessions (outside its transaction) and say so."""
        logger.warning("directory password change unconfirmed user=%s", user.pk)
        raise ChangeUnconfirmed from cause

    def keeps_change_times(self) -> bool:
        """Whether the directory records the time of every password change on the entry."""
        return True

    def _changed_lately(self, value: str, sent_at: float) -> bool:
        """Whether the time of the last password change, `value`, is so close to when the new
        password was sent that the new one could carry the same (a directory keeping it to
        the second)."""
        return False

    def _after_reset(self, conn, dn: str) -> None:
        """What a reset does once the new password is taken (directory-specific)."""

    def unlock(self, user) -> None:
        with self.service("unlock") as conn:
            dn = self._entry_to_change(conn, user)
            self._unlock(conn, dn)
        logger.info("directory unlock user=%s", user.pk)

    def _entry_to_change(self, conn, user, with_attributes: bool = False):
        """The person's entry (with its status attributes, if asked), unless the directory
        has turned the account off: a reset or an unlock would then turn it back on
        (OpenLDAP's administrator lock is the same attribute as its lockout), or set a
        password nobody may use (docs/security.md §70)."""
        dn, attrs = self.find(
            conn, user.get_username(), [*self.status_attributes, self.conf.attr_entry_id]
        )
        if self._held_by_another(user, dn, attrs):
            logger.warning("directory change refused user=%s reason=name_given_again", user.pk)
            raise AccountMissing(user.get_username())
        if self._status(attrs).disabled:
            logger.info("directory change refused user=%s reason=disabled", user.pk)
            raise AccountDisabled(user.get_username())
        return (dn, attrs) if with_attributes else dn

    def _held_by_another(self, user, dn: str, attrs: dict) -> bool:
        """Whether the entry under the person's name is another than the one they are linked
        to: the name was given again to someone new, and neither the sync nor the newcomer's
        sign-in has seen it yet (docs/security.md §39). A reset or an unlock, by the portal or
        with a temporary access pass, would then change the newcomer's entry with the
        previous holder's methods."""
        from .mirror import another_holder, entry_id
        from .models import DirectoryAccount

        link = (
            DirectoryAccount.objects.filter(user_id=user.pk)
            .values_list("entry_id", "dn", "left_at")
            .first()
        )
        if link is None:
            return False
        found = entry_id({name.lower(): value for name, value in attrs.items()}, self.conf)
        return another_holder(*link, found, dn)

    def change_password(self, user, current: str, new: str) -> None:
        """As the person: their own bind, so history and minimum age apply too. The current
        password is not tried when a wrong one could lock the account (LockoutNear).

        A password that expired, or that must be changed, is changed too (the README's
        "Directory"): over the person's own bind where the directory still grants one (after
        a reset, or with grace logins left), else by the service account once the failed
        bind has proven the current password right."""
        # Counted among the name's tries in flight for as long as the bind lasts (password_try).
        with self._in_flight(user.get_username()) as tries:
            state = self._change_as_person(user, current, new, tries)
        end_sessions(user)
        logger.info("directory password change user=%s state=%s", user.pk, state)

    def _change_as_person(self, user, current: str, new: str, tries: int) -> str:
        """change_password's checks and binds, while its try is counted; the bind's state."""
        with self.service() as conn:
            asked = [*self.status_attributes, *self.failure_attributes, self.changed_attribute]
            dn, attrs = self.find(conn, user.get_username(), list(dict.fromkeys(asked)))
            status = self._status(attrs)
            if status.disabled:
                raise AccountDisabled(user.get_username())  # an unlock would not help
            if status.locked and not self._lock_over(
                attrs, self._lock_duration(conn, self.policy_dn_of(attrs))
            ):
                # Locked, perhaps after failures the policy no longer counts: the right
                # password would be refused as a wrong one, and counted as one.
                raise AccountLocked
            if not self._failure_is_safe(conn, attrs, tries):
                raise LockoutNear
        before, writing = text(attrs, self.changed_attribute), False
        if breaker_open():
            raise DirectoryUnavailable("the circuit breaker is open")
        try:
            own = open_connection(self.conf)
        except UNREACHABLE as error:
            note_unreachable()
            raise DirectoryUnavailable from error
        try:
            try:
                state = self.bind_state(own, dn, current)
            except ldap.INVALID_CREDENTIALS as error:
                raise PasswordRefused("wrong_current") from error
            writing, sent_at = True, time.time()
            if state == EXPIRED or (state == MUST_CHANGE and self.kind == "active_directory"):
                # No bind of their own: the directory has just proven the current password.
                with self.service("change") as conn:
                    self._change_for(conn, dn, current, new)
            else:
                self._change(own, dn, current, new)
        except (*UNREACHABLE, DirectoryUnavailable) as error:
            lost = error if isinstance(error, DirectoryUnavailable) else None
            if lost is None:
                note_unreachable()
                lost = DirectoryUnavailable()
                lost.__cause__ = error
            if not writing:
                raise lost from lost.__cause__
            # Returns only if the new password was taken.
            self._landed(user, before, lost, sent_at)
        except (ldap.INSUFFICIENT_ACCESS, ldap.OPERATIONS_ERROR, ldap.OTHER) as error:
            raise DirectoryRefused("change", type(error).__name__) from error
        finally:
            with suppress(ldap.LDAPError):
                own.unbind_s()
        return state

    def prove_rights(self, username: str) -> list[str]:
        """The rights the service account lacks on the entry `username`, set aside for this
        proof: bind, read, set a password with the policy's control, clear the lockout
        (docs/security.md §43). The entry's password becomes a random one nobody knows."""
        missing = []
        try:
            with self.service("rights") as conn:
                try:
                    dn, _attrs = self.find(conn, username, NO_ATTRIBUTES)
                except AccountMissing:
                    return ["read"]
                proofs = (
                    ("reset", lambda: self._reset(conn, dn, _random_password())),
                    ("unlock", lambda: self._clear_lock(conn, dn)),
                )
                for right, proof in proofs:
                    try:
                        proof()
                    except (ldap.INSUFFICIENT_ACCESS, ldap.UNWILLING_TO_PERFORM, PasswordRefused):
                        missing.append(right)
        except DirectoryUnavailable:
            return ["bind"]
        return missing

    def privileged_now(self, user) -> bool:
        """Whether the person's entry makes them an administrator now (the staff or the
        administrators' group; in Active Directory a protected account too, as the sync
        reads it), whatever the mirror last read: an account made one since the sync or the
        person's last sign-in is reset by the administrators' rule (passwordreset.flows.
        reset_finish). Only asked where a group or the domain can say it."""
        groups = [group for group in (self.conf.staff_group, self.conf.superuser_group) if group]
        if not groups and not self.conf.is_ad:
            return False
        with self.service() as conn:
            asked = [self.conf.attr_entry_id, *(["adminCount"] if self.conf.is_ad else [])]
            dn, attrs = self.find(conn, user.get_username(), asked, scoped=False)
            if self._held_by_another(user, dn, attrs):
                # The newcomer's entry tells nothing of the person (the change refuses it).
                return False
            if self.conf.is_ad and text(attrs, "adminCount") == "1":
                return True
            return any(self._member(conn, dn, group) for group in groups)

    def _member(self, conn, dn: str, group: str) -> bool:
        """in_group, with a group that is not there (a setting naming a group since removed)
        holding nobody, as at sign-in: it stops no one's reset."""
        try:
            return self.in_group(conn, dn, group)
        except ldap.NO_SUCH_OBJECT:
            logger.warning("directory group not found: %s", group)
            return False

    def status(self, user) -> AccountStatus:
        with self.service() as conn:
            try:
                dn, attrs = self.find(
                    conn,
                    user.get_username(),
                    list(
                        dict.fromkeys(
                            [
                                *self.status_attributes,
                                *self.failure_attributes,
                                self.conf.attr_entry_id,
                            ]
                        )
                    ),
                )
            except AccountMissing:
                return AccountStatus(found=False)
            if self._held_by_another(user, dn, attrs):
                return AccountStatus(found=False)  # the newcomer's state is not the person's
            status = self._status(attrs)
            policy_dn = self.policy_dn_of(attrs)
            if status.locked and self._lock_over(attrs, self._lock_duration(conn, policy_dn)):
                # A lockout that ended by itself (the policy's duration passed): the directory
                # lets the person in, and keeps the lock's mark until the next sign-in.
                status.locked = False
            # What the check before each try reads (password_try), for the pages that
            # explain why a right password was not tried.
            threshold, window = self._policy(conn, policy_dn)
            status.directory_threshold = threshold
            status.directory_failures = self._failures(attrs, window)
            return status

    def rules(self, user=None) -> list[str]:
        with self.service() as conn:
            return self._rules(conn, user)


# The password policy overlay's convention for "locked by an administrator, for good": the
# account is turned off, not locked out.
ADMINISTRATOR_LOCK = "000001010000Z"


class OpenLDAPAccounts(DirectoryAccounts):
    kind = "openldap"
    status_attributes = ["pwdAccountLockedTime", "pwdChangedTime", "pwdReset", "pwdPolicySubentry"]
    changed_attribute = "pwdChangedTime"
    failure_attributes = ["pwdFailureTime", "pwdPolicySubentry"]

    def default_policy_dn(self) -> str:
        return self.conf.password_policy_dn

    def policy_dn_of(self, attrs: dict) -> str:
        return text(attrs, "pwdPolicySubentry") or self.conf.password_policy_dn

    def _read_policy(self, conn, policy_dn: str) -> tuple[int, float]:
        try:
            found = conn.search_ext_s(policy_dn, ldap.SCOPE_BASE, "(objectClass=pwdPolicy)")
        except ldap.NO_SUCH_OBJECT:
            return 0, 0.0
        attrs = found[0][1] if found and found[0][0] else {}
        if text(attrs, "pwdLockout").upper() != "TRUE":
            return 0, 0.0
        return int(text(attrs, "pwdMaxFailure") or 0), float(
            text(attrs, "pwdFailureCountInterval") or 0
        )

    def _read_lock_duration(self, conn, policy_dn: str) -> float:
        try:
            found = conn.search_ext_s(
                policy_dn, ldap.SCOPE_BASE, "(objectClass=pwdPolicy)", ["pwdLockoutDuration"]
            )
        except ldap.NO_SUCH_OBJECT:
            return 0.0
        attrs = found[0][1] if found and found[0][0] else {}
        return float(text(attrs, "pwdLockoutDuration") or 0)

    def _lock_over(self, attrs: dict, duration: float) -> bool:
        value = text(attrs, "pwdAccountLockedTime")
        locked_at = _generalized_time(value)
        if not duration or value == ADMINISTRATOR_LOCK or locked_at is None:
            return False
        return datetime.datetime.now(datetime.UTC) >= locked_at + datetime.timedelta(
            seconds=duration
        )

    def _failures(self, attrs: dict, window: float) -> int:
        times = [_generalized_time(v.decode()) for v in attrs.get("pwdFailureTime", [])]
        if not window:
            return len(times)
        since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=window)
        return sum(1 for moment in times if moment is None or moment > since)

    def _reset(self, conn, dn: str, password: str) -> None:
        try:
            conn.passwd_s(dn, None, password, serverctrls=[PasswordPolicyControl()])
        except (ldap.CONSTRAINT_VIOLATION, ldap.UNWILLING_TO_PERFORM) as error:
            raise PasswordRefused(_refusal_from(error) or "policy") from error
        self._after_reset(conn, dn)

    def _after_reset(self, conn, dn: str) -> None:
        # The policy overlay clears its lockout on a new password; leftovers are cleared
        # here, and a "must change" flag is not left behind.
        self._unlock(conn, dn, also=("pwdReset",))

    def keeps_change_times(self) -> bool:
        # The password policy overlay sets pwdChangedTime at every change; its default policy
        # named (LDAP_PASSWORD_POLICY_DN, sspr.W014) says the overlay is there.
        return bool(self.conf.password_policy_dn)

    def _changed_lately(self, value: str, sent_at: float) -> bool:
        # pwdChangedTime is kept to the second ("20261206071530Z", perhaps with a fraction):
        # a change sent within the same second (a second either way for the clocks) could
        # leave it as it was.
        try:
            when = datetime.datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(
                tzinfo=datetime.UTC
            )
        except ValueError:
            return True  # unreadable: it cannot tell a change from none
        return when.timestamp() >= int(sent_at) - 1

    def _unlock(self, conn, dn: str, also=()) -> None:
        names = ["pwdAccountLockedTime", "pwdFailureTime", *also]
        found = conn.search_ext_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", attrlist=names)
        attrs = found[0][1] if found and found[0][0] else {}
        present = [name for name in names if attrs.get(name)]
        if text(attrs, "pwdAccountLockedTime") == ADMINISTRATOR_LOCK:
            # Turned off since it was read (_entry_to_change): the lockout's leftovers go,
            # the administrator's lock stays. (The overlay's own password change may have
            # cleared it already: that window, between the read and the write, remains.)
            present.remove("pwdAccountLockedTime")
        if present:
            conn.modify_ext_s(
                dn, [(ldap.MOD_DELETE, name, None) for name in present], serverctrls=[RELAX_RULES]
            )

    def _clear_lock(self, conn, dn: str) -> None:
        # Clears the lock whether or not there is one: the right is what is proven.
        conn.modify_ext_s(
            dn, [(ldap.MOD_REPLACE, "pwdAccountLockedTime", None)], serverctrls=[RELAX_RULES]
        )

    def _change(self, own, dn: str, current: str, new: str) -> None:
        try:
            own.passwd_s(dn, current, new, serverctrls=[PasswordPolicyControl()])
        except (ldap.CONSTRAINT_VIOLATION, ldap.UNWILLING_TO_PERFORM) as error:
            raise PasswordRefused(_refusal_from(error) or "policy") from error

    def _change_for(self, conn, dn: str, current: str, new: str) -> None:
        # As a reset (the overlay's length, quality and history rules apply to the service
        # account's write), and the "must change" flag is not left behind.
        self._reset(conn, dn, new)

    def _status(self, attrs: dict) -> AccountStatus:
        locked_at = text(attrs, "pwdAccountLockedTime")
        return AccountStatus(
            locked=bool(locked_at),
            disabled=locked_at == ADMINISTRATOR_LOCK,
            password_set_at=_generalized_time(text(attrs, "pwdChangedTime")),
            must_change=text(attrs, "pwdReset").upper() == "TRUE",
        )

    def _rules(self, conn, user=None) -> list[str]:
        from .rules import openldap_rules

        policy_dn = self.conf.password_policy_dn
        if user is not None:
            try:
                _dn, attrs = self.find(conn, user.get_username(), ["pwdPolicySubentry"])
                policy_dn = text(attrs, "pwdPolicySubentry") or policy_dn
            except AccountMissing:
                pass
        if not policy_dn:
            return []
        try:
            found = conn.search_ext_s(policy_dn, ldap.SCOPE_BASE, "(objectClass=pwdPolicy)")
        except ldap.NO_SUCH_OBJECT:
            return []
        return openldap_rules(found[0][1]) if found else []


class ActiveDirectoryAccounts(DirectoryAccounts):
    kind = "active_directory"
    status_attributes = ["lockoutTime", "pwdLastSet", "userAccountControl"]
    changed_attribute = "pwdLastSet"
    failure_attributes = ["badPwdCount", "badPasswordTime", "msDS-ResultantPSO"]

    def default_policy_dn(self) -> str:
        return self.domain_dn()

    def policy_dn_of(self, attrs: dict) -> str:
        # A fine-grained password policy that applies to the person wins over the domain's.
        return text(attrs, "msDS-ResultantPSO") or self.domain_dn()

    def _read_policy(self, conn, policy_dn: str) -> tuple[int, float]:
        pso = not policy_dn.lower().startswith("dc=")
        names = (
            ["msDS-LockoutThreshold", "msDS-LockoutObservationWindow"]
            if pso
            else ["lockoutThreshold", "lockOutObservationWindow"]
        )
        try:
            found = conn.search_ext_s(policy_dn, ldap.SCOPE_BASE, attrlist=names)
        except ldap.NO_SUCH_OBJECT:
            return 0, 0.0
        attrs = found[0][1] if found and found[0][0] else {}
        if pso and not text(attrs, names[0]):
            # A policy the service account may not read (the deploy check says so): the
            # domain's threshold is the best known.
            logger.warning("fine-grained password policy not readable: %s", policy_dn)
            return self._read_policy(conn, self.domain_dn())
        # The window is a negative count of 100-nanosecond intervals.
        return int(text(attrs, names[0]) or 0), abs(int(text(attrs, names[1]) or 0)) / 10**7

    def _read_lock_duration(self, conn, policy_dn: str) -> float:
        pso = not policy_dn.lower().startswith("dc=")
        name = "msDS-LockoutDuration" if pso else "lockoutDuration"
        try:
            found = conn.search_ext_s(policy_dn, ldap.SCOPE_BASE, attrlist=[name])
        except ldap.NO_SUCH_OBJECT:
            return 0.0
        attrs = found[0][1] if found and found[0][0] else {}
        if pso and not text(attrs, name):
            return self._read_lock_duration(conn, self.domain_dn())
        # A negative count of 100-nanosecond intervals; the smallest number means "for ever".
        value = int(text(attrs, name) or 0)
        return 0.0 if value <= -(2**63) else abs(value) / 10**7

    def _lock_over(self, attrs: dict, duration: float) -> bool:
        locked_at = int(text(attrs, "lockoutTime") or 0)
        if not duration or locked_at <= 0:
            return False
        return time.time() >= filetime(locked_at).timestamp() + duration

    def _failures(self, attrs: dict, window: float) -> int:
        count = int(text(attrs, "badPwdCount") or 0)
        last = int(text(attrs, "badPasswordTime") or 0)
        if count and window and last:
            age = time.time() - filetime(last).timestamp()
            if age > window:
                return 0  # the domain starts counting again at the next failure
        return count

    def member_filter(self, dn: str) -> str:
        # Nested groups count too.
        return f"(member:1.2.840.113556.1.4.1941:={escape_filter_chars(dn)})"

    @staticmethod
    def _quoted(password: str) -> bytes:
        return f'"{password}"'.encode("utf-16-le")

    def _reset(self, conn, dn: str, password: str) -> None:
        # One modification: the new password and the cleared lockout land together or not at
        # all. The password is not left "must change" (pwdLastSet -1 means "now").
        changes = [
            (ldap.MOD_REPLACE, "unicodePwd", [self._quoted(password)]),
            (ldap.MOD_REPLACE, "lockoutTime", [b"0"]),
            (ldap.MOD_REPLACE, "pwdLastSet", [b"-1"]),
        ]
        try:
            conn.modify_ext_s(dn, changes, serverctrls=[POLICY_HINTS])
        except (ldap.CONSTRAINT_VIOLATION, ldap.UNWILLING_TO_PERFORM) as error:
            raise PasswordRefused(_ad_refusal(error)) from error

    def _unlock(self, conn, dn: str) -> None:
        conn.modify_ext_s(dn, [(ldap.MOD_REPLACE, "lockoutTime", [b"0"])])

    _clear_lock = _unlock

    def _change(self, own, dn: str, current: str, new: str) -> None:
        changes = [
            (ldap.MOD_DELETE, "unicodePwd", [self._quoted(current)]),
            (ldap.MOD_ADD, "unicodePwd", [self._quoted(new)]),
        ]
        try:
            own.modify_ext_s(dn, changes)
        except (ldap.CONSTRAINT_VIOLATION, ldap.UNWILLING_TO_PERFORM) as error:
            raise PasswordRefused(_ad_refusal(error)) from error

    def _change_for(self, conn, dn: str, current: str, new: str) -> None:
        """A change of an expired or must-change password over the service account's
        connection: the delete/add pair with the current password (a change, which every
        account may make when it knows the password, so history and minimum age apply); a
        domain that refuses that to another account gets a reset with the policy hints."""
        try:
            self._change(conn, dn, current, new)
        except ldap.INSUFFICIENT_ACCESS:
            self._reset(conn, dn, new)

    def _status(self, attrs: dict) -> AccountStatus:
        control = int(text(attrs, "userAccountControl") or 0)
        last_set = int(text(attrs, "pwdLastSet") or 0)
        return AccountStatus(
            locked=int(text(attrs, "lockoutTime") or 0) > 0,
            disabled=bool(control & UF_ACCOUNTDISABLE),
            password_set_at=filetime(last_set) if last_set > 0 else None,
            must_change=last_set == 0,
        )

    def domain_dn(self) -> str:
        parts = [
            part for part in ldap.dn.explode_dn(self.conf.user_base) if part[:3].lower() == "dc="
        ]
        return ",".join(parts)

    def _rules(self, conn, user=None) -> list[str]:
        from .rules import active_directory_rules

        names = ["minPwdLength", "pwdHistoryLength", "minPwdAge", "pwdProperties"]
        found = conn.search_ext_s(self.domain_dn(), ldap.SCOPE_BASE, attrlist=names)
        return active_directory_rules(found[0][1]) if found and found[0][0] else []


def _random_password() -> str:
    # Long, and of every kind of character, so that no directory's rules refuse it.
    return secrets.token_urlsafe(24) + "aA1!"


def filetime(value: int) -> datetime.datetime:
    return AD_EPOCH + datetime.timedelta(microseconds=value // 10)


def _generalized_time(value: str) -> datetime.datetime | None:
    match = re.fullmatch(r"(\d{14})(?:\.\d+)?Z", value or "")
    if not match:
        return None
    return datetime.datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=datetime.UTC)


def store_for(conf: DirectoryConfig) -> DirectoryAccounts:
    return ActiveDirectoryAccounts(conf) if conf.is_ad else OpenLDAPAccounts(conf)
