"""The account store: where passwords are set, changed and unlocked.

Everything that touches a password or a lockout goes through `accounts()`: Django's own user
table by default, the organisation's directory when SSPR_DIRECTORY names one (the README's
"Directory" section). The pages never know which.
"""

from __future__ import annotations

import contextvars
import datetime
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from django.contrib.auth.password_validation import (
    MinimumLengthValidator,
    get_default_password_validators,
)
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from sspr_site import counting

from .conf import DirectoryConfig, app_settings
from .rules import LengthRule

# What a refusal means for the person, shown next to the new password in their language.
REFUSALS = {
    "too_short": _("The directory refused this password: it is shorter than its rules allow."),
    "in_history": _(
        "The directory refused this password: you have used it before. Choose one you have "
        "not used recently."
    ),
    "too_young": _(
        "The directory refused the change: your password was changed too recently. Try again "
        "later, or contact your helpdesk."
    ),
    "quality": _("The directory refused this password: it does not pass its quality check."),
    "complexity": _(
        "The directory refused this password: it needs three of capital letters, small "
        "letters, digits and symbols, and must not contain your name."
    ),
    # The reason unknown (Active Directory on Windows names none): every likely one is named.
    "policy": _(
        "The directory refused this password under its password rules: it may be too short or "
        "too simple, or one you used before, or your password may have been changed too "
        "recently. Choose another, or contact your helpdesk."
    ),
    "wrong_current": _("That is not your current password."),
    "not_allowed": _(
        "The directory does not allow this password to be changed here. Contact your helpdesk."
    ),
}


class PasswordRefused(Exception):
    """The account store would not take this password; nothing was changed."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason if reason in REFUSALS else "policy"

    @property
    def message(self):
        return REFUSALS[self.reason]


class DirectoryUnavailable(Exception):
    """The directory could not be reached or did not answer in time; nothing was changed."""


class ChangeUnconfirmed(DirectoryUnavailable):
    """The directory stopped answering after a new password was sent to it, and could not be
    asked afterwards whether it took it: it may have (the page says so, not "nothing was
    changed"). The caller ends the person's sessions (end_sessions), as a new password
    would, and records it."""


def end_sessions(user) -> None:
    """A new password in the directory ends the person's sessions here, as a new Django
    password would: each session carries a hash of the local (unusable) password, renewed."""
    user.set_unusable_password()
    user.save(update_fields=["password"])


class AccountMissing(Exception):
    """The directory has no such person in scope any more; nothing was changed."""


class AccountDisabled(Exception):
    """The account is turned off (in the directory, or here): self-service neither sets its
    password nor clears its lock, which would turn it back on (docs/security.md §70); nothing
    was changed."""


class DirectoryRefused(Exception):
    """The directory answered but would not do what was asked (a right the service account
    lacks, for instance); nothing was changed. `operation` and `error` name what and why, for
    the audit log and the operator; the person gets REFUSED_BY_DIRECTORY."""

    def __init__(self, operation: str, error: str):
        super().__init__(f"{operation}: {error}")
        self.operation = operation
        self.error = error


class NameWaits(Exception):
    """A person renamed in the directory signs in under a name whose row is still someone's
    who has not left (directory.mirror.follow_renames): not signed in, and not a failed
    sign-in; their page says why."""


class LockoutNear(Exception):
    """One more wrong password could be the one that makes the directory lock this account:
    the site does not try it (docs/security.md §40)."""


class AccountLocked(LockoutNear):
    """The directory has locked the account (and the lock has not ended by itself): it would
    refuse even the right password, so none is tried."""


class ChangeNeeded(Exception):
    """At sign-in: the password was proven right, but the directory says it has expired or
    must be changed ("expired" or "must_change"). The person is sent to change it
    (directory.middleware); nothing about the account was told before the proof."""

    def __init__(self, user, reason: str):
        super().__init__(reason)
        self.user = user
        self.reason = reason


ACCOUNT_GONE = _("This account cannot be changed here. Nothing was changed; contact your helpdesk.")
REFUSED_BY_DIRECTORY = _(
    "The account directory refused to make this change, so nothing was changed. Your helpdesk "
    "has been told what happened; contact them to finish it."
)
ACCOUNT_DISABLED = _(
    "This account is turned off, so its password cannot be reset or its lock cleared here. "
    "Nothing was changed; contact your helpdesk."
)
DIRECTORY_DOWN = _(
    "The account directory cannot be reached just now, so nothing was changed. Try again in a "
    "few minutes."
)


@dataclass
class AccountStatus:
    found: bool = True
    locked: bool | None = None
    disabled: bool | None = None
    password_set_at: datetime.datetime | None = None
    must_change: bool | None = None
    # The site's own count for the name (directory.lockout.site_lockout), when it was read.
    site_lockout: dict | None = None
    # Failed sign-ins the directory counts for the person, and after how many its policy locks
    # the account (0: never); None for Django's own accounts.
    directory_failures: int | None = None
    directory_threshold: int = 0

    @property
    def tries_held(self) -> bool:
        """One more wrong password could lock the account in the directory, so the site tries
        none of this person's until the count is cleared (docs/security.md §40): a right one
        is refused as well. Unlocking at /passwordreset/ clears it."""
        return (
            not self.locked
            and bool(self.directory_threshold)
            and self.directory_failures is not None
            and self.directory_failures + 1 >= self.directory_threshold
        )


class DjangoAccounts:
    """Accounts in Django's own user table; the lockout is django-axes'."""

    kind = "none"
    takes_mail = False  # Django's own accounts sign in by username alone

    def set_password(self, user, password: str) -> None:
        if not user.is_active:
            raise AccountDisabled(user.get_username())
        user.set_password(password)
        user.save(update_fields=["password"])

    def change_password(self, user, current: str, new: str) -> None:
        if not user.check_password(current):
            raise PasswordRefused("wrong_current")
        self.set_password(user, new)

    def unlock(self, user) -> None:
        from .lockout import clear_failures_of

        if not user.is_active:
            raise AccountDisabled(user.get_username())
        clear_failures_of(user)

    def privileged_now(self, user) -> bool:
        """Whether the account is an administrator's now, whatever was read of it before:
        Django's own accounts say so themselves (methods.reset_rule.is_privileged)."""
        return False

    def status(self, user) -> AccountStatus:
        # Django's own accounts are locked by the site's count alone.
        from .lockout import site_lockout

        count = site_lockout(user.get_username())
        return AccountStatus(
            locked=count["locked_until"] is not None,
            disabled=not user.is_active,
            site_lockout=count,
        )

    def rules(self, user=None) -> list[str]:
        return []

    def check(self) -> None:
        return None

    def canonical_username(self, username: str) -> str:
        # As Django stores names (NFKC); Django's accounts tell case apart.
        return unicodedata.normalize("NFKC", username.strip())

    def lockout_threshold(self) -> int:
        """Failed sign-ins after which the account store itself locks an account (0: never).
        Django's own accounts are locked by the site alone."""
        return 0

    @contextmanager
    def password_try(self, username: str):
        """Whether the person's password may be tried now, held until the try is over (the
        directory's version counts tries in flight). Django's accounts: always."""
        yield True


def config() -> DirectoryConfig:
    return app_settings.DIRECTORY_CONFIG


def accounts():
    """The account store configured for this site."""
    return _store(config())


@lru_cache(maxsize=4)
def _store(conf: DirectoryConfig):
    if not conf.enabled:
        return DjangoAccounts()
    from .ldap_accounts import store_for  # python-ldap only when a directory is configured

    return store_for(conf)


def available() -> bool:
    """Whether the account store answers; a good answer is trusted for 15 seconds."""
    store = accounts()
    if store.kind == "none" or cache.get(UP_KEY):
        return True
    try:
        store.check()
    except DirectoryUnavailable:
        return False
    cache.set(UP_KEY, True, timeout=15)
    return True


UP_KEY = "sspr:directory:up"

# The circuit breaker (docs/security.md §41): after BREAKER_FAILURES directory operations in a
# row that could not reach the directory, every operation answers "unavailable" at once for
# BREAKER_SECONDS, in every worker (the count and the end time live in the shared cache), so a
# directory that accepts connections and never answers cannot hold the site's workers.
# Within one request, the first operation that could not reach the directory is the last one
# tried: a request waits for at most one timeout (directory.middleware marks each request).
FAILURES_KEY = "sspr:directory:failures"
OPEN_UNTIL_KEY = "sspr:directory:open-until"
failed_in_this_request: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sspr_directory_failed", default=False
)


def breaker_open() -> bool:
    return failed_in_this_request.get() or cache.get(OPEN_UNTIL_KEY, 0) > time.time()


def note_unreachable() -> None:
    failed_in_this_request.set(True)
    cache.delete(UP_KEY)
    failures = counting.count(FAILURES_KEY, 300)
    if failures >= config().breaker_failures:
        seconds = config().breaker_seconds
        cache.set(OPEN_UNTIL_KEY, time.time() + seconds, timeout=int(seconds) + 1)


def note_reachable() -> None:
    if cache.get(FAILURES_KEY):
        cache.delete_many([FAILURES_KEY, OPEN_UNTIL_KEY])


DIRECTORY_RULES_UNREAD = _(
    "The directory's own rules could not be read just now; it checks the new password against "
    "them when you send it."
)


def password_rules(user) -> list[str]:
    """The rules a new password must meet, for the page that asks for one: the account store's
    (none for Django's own accounts) and the site's own validators, merged. Where both ask for
    a minimum length, only the strictest is listed, first: a rule that can never apply is not
    shown. A directory that does not answer just now lists the site's and says its own could not
    be read; its refusal, if any, comes at the field."""
    unread = []
    try:
        store = accounts().rules(user)
    except AccountMissing:
        store = []
    except DirectoryUnavailable:
        store = []
        unread = [DIRECTORY_RULES_UNREAD]
    # (length, text) of every minimum length, the directory's and the site's.
    lengths = [(rule.min_length, rule) for rule in store if isinstance(rule, LengthRule)]
    site = []
    for validator in get_default_password_validators():
        text = validator.get_help_text()
        if isinstance(validator, MinimumLengthValidator):
            lengths.append((validator.min_length, text))
        else:
            site.append(text)
    # The strictest length first; on a tie the directory's own words (listed first).
    strictest = [max(lengths, key=lambda pair: pair[0])[1]] if lengths else []
    others = [rule for rule in store if not isinstance(rule, LengthRule)]
    return strictest + others + site + unread


def check_directory() -> None:
    """The readiness probe's check (registered at start-up in directory mode)."""
    accounts().check()


def reset_caches() -> None:
    """For tests that switch the directory on and off."""
    _store.cache_clear()
    failed_in_this_request.set(False)
