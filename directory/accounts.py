"""The account store: where passwords are set, changed and unlocked.

Everything that touches a password or a lockout goes through `accounts()`: Django's own user
table by default, the organisation's directory when SSPR_DIRECTORY names one (the README's
"Directory" section). The pages never know which.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import lru_cache

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from .conf import DirectoryConfig

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
    "policy": _(
        "The directory refused this password under its password rules. Choose a longer one "
        "you have not used before."
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


class AccountMissing(Exception):
    """The directory has no such person in scope any more; nothing was changed."""


ACCOUNT_GONE = _("This account cannot be changed here. Nothing was changed; contact your helpdesk.")


@dataclass
class AccountStatus:
    found: bool = True
    locked: bool | None = None
    disabled: bool | None = None
    password_set_at: datetime.datetime | None = None
    must_change: bool | None = None


class DjangoAccounts:
    """Accounts in Django's own user table; the lockout is django-axes'."""

    kind = "none"

    def set_password(self, user, password: str) -> None:
        user.set_password(password)
        user.save(update_fields=["password"])

    def change_password(self, user, current: str, new: str) -> None:
        if not user.check_password(current):
            raise PasswordRefused("wrong_current")
        self.set_password(user, new)

    def unlock(self, user) -> None:
        axes_reset(username=user.get_username())

    def status(self, user) -> AccountStatus:
        limit = settings.AXES_FAILURE_LIMIT
        locked = AccessAttempt.objects.filter(
            username=user.get_username(), failures_since_start__gte=limit
        ).exists()
        return AccountStatus(locked=locked, disabled=not user.is_active)

    def rules(self, user=None) -> list[str]:
        return []

    def check(self) -> None:
        return None

    def canonical_username(self, username: str) -> str:
        return username.strip()


def config() -> DirectoryConfig:
    return settings.SSPR_DIRECTORY_CONFIG


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


def password_rules(user) -> list[str]:
    """The rules a new password must meet, for the page that asks for one: the account store's
    (none for Django's own accounts) and then the site's own validators. A directory that does
    not answer just now lists only the site's; its refusal, if any, comes at the field."""
    try:
        rules = accounts().rules(user)
    except (DirectoryUnavailable, AccountMissing):
        rules = []
    return rules + password_validators_help_texts()


def check_directory() -> None:
    """The readiness probe's check (registered at start-up in directory mode)."""
    accounts().check()


def reset_caches() -> None:
    """For tests that switch the directory on and off."""
    _store.cache_clear()
