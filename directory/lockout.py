"""The sign-in lockout in both account stores (docs/security.md §39-40).

- One name per account: every lockout, limit and audit key is the name as the account store
  resolves it (`canonical_username`), so `ADA`, `Ada` and `ada` share one count in directory
  mode, where they are one account.
- The site is never the way a directory account gets locked: its per-name limit stays below
  the directory's own threshold, and before a person's password is tried against the directory
  the failures it already counts are read, with the tries of the same name still under way on
  any host (the directory's `password_try`).

django-axes keeps the count: `axes_username` and `failure_limit` are its callables.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .accounts import DirectoryRefused, DirectoryUnavailable, accounts
from .conf import app_settings

THRESHOLD_KEY = "sspr:directory:lockout-threshold"
# The request attribute that holds the name a sign-in resolved to (`note_entry`).
RESOLVED = "sspr_sign_in_name"


def clear_failures(username: str) -> int:
    """django-axes' reset of one name's failed sign-ins (`axes.utils.reset`): how many records
    it removed. With this project's handler, one statement (directory/lockout_handler.py)."""
    from axes.utils import reset

    if not username:
        return 0  # axes would read no name as every name
    return reset(username=lockout_key(username))


def clear_failures_of(user) -> int:
    """Clear the failed sign-ins of every spelling the person signs in with, once they proved
    who they are (a reset, an unlock, a change, a pass): their name, and their mail where the
    directory takes it as a name (the lockout page sends them to the portal with the spelling
    they typed). How many records were removed."""
    from .accounts import config

    cleared = clear_failures(username_key(user.get_username()))
    conf = config()
    if conf.enabled and conf.matches_mail and user.email:
        cleared += clear_failures(username_key(user.email))
    return cleared


def username_key(username: str | None) -> str:
    """The name every lockout, limit and audit record is kept under."""
    return accounts().canonical_username(username or "")[:255]


def lockout_key(key: str) -> str:
    """What django-axes keeps for the name `key` (username_key): a keyed digest, the same for
    one name every time, so a failed sign-in's typed name (perhaps a password pasted in the
    wrong box) is not kept or logged in clear (docs/security.md §39). Empty for no name. Keyed
    with SECRET_KEY: a new one starts every name's count afresh (at most the lockout's hour of
    failures is forgotten)."""
    if not key:
        return ""
    return salted_hmac("sspr.lockout.name", key, algorithm="sha256").hexdigest()


def typed_name(request, credentials=None) -> str:
    """The name as typed (username_key), from the credentials or the posted form."""
    name = (credentials or {}).get("username")
    if name is None and request is not None and request.method == "POST":
        name = request.POST.get("username", "")
    return username_key(name)


def entry_name(request) -> str:
    """The directory entry's own name once the request's sign-in found the entry
    (`note_entry`); empty before that, or when the name matched nobody."""
    return getattr(request, RESOLVED, "") if request is not None else ""


def sign_in_name(request, credentials=None) -> str:
    """The account a sign-in is recorded against: the entry it found, or the name typed."""
    return entry_name(request) or typed_name(request, credentials)


def note_entry(request, found: str) -> None:
    """The sign-in of `request` found the directory entry named `found`, perhaps typed as
    another of its attributes (mail, a UPN): its failure is recorded in the audit log against
    that person (sign_in_name). The lockout's count stays with the name as typed, so what the
    page says, and when, depends on that spelling alone, as for a name that matches nobody
    (docs/security.md §39, §42)."""
    if request is not None:
        setattr(request, RESOLVED, username_key(found))


def axes_username(request, credentials=None) -> str:
    """AXES_USERNAME_CALLABLE: the name as typed."""
    return lockout_key(typed_name(request, credentials))


def directory_threshold() -> int:
    """Failed sign-ins after which the directory's default policy locks an account; 0 when it
    never does, for Django's own accounts, or while the directory cannot tell (the check
    before each try still holds then)."""
    threshold = cache.get(THRESHOLD_KEY)
    if threshold is None:
        try:
            threshold = accounts().lockout_threshold()
        except (DirectoryUnavailable, DirectoryRefused):
            return 0
        cache.set(THRESHOLD_KEY, threshold, timeout=600)
    return threshold


def failure_limit(request=None, credentials=None) -> int:
    """AXES_FAILURE_LIMIT: the configured limit, or one below the directory's threshold when
    that is lower."""
    configured = app_settings.LOCKOUT_FAILURES
    threshold = directory_threshold()
    if threshold:
        return max(1, min(configured, threshold - 1))
    return configured


def site_lockout(username: str) -> dict:
    """The site's own count for a name, for the helpdesk: failures within the lockout's
    cool-off, the limit, and until when the name is locked (None when it is not). One query.

    django-axes keeps a row per browser and address that failed for the name and locks the
    name when the rows of the cool-off period add up to the limit; so does this. The lock
    lifts when enough of the newest failures are older than the cool-off: the row at which
    the newest ones reach the limit says when."""
    from axes.models import AccessAttempt

    limit = failure_limit()
    cooloff = datetime.timedelta(hours=settings.AXES_COOLOFF_TIME)
    rows = list(
        AccessAttempt.objects.filter(
            username=lockout_key(username_key(username)), attempt_time__gte=timezone.now() - cooloff
        )
        .order_by("-attempt_time")
        .values_list("failures_since_start", "attempt_time")
    )
    failures = sum(count for count, _at in rows)
    locked_until, newest = None, 0
    for count, at in rows:
        newest += count
        if newest >= limit:
            locked_until = at + cooloff
            break
    return {"failures": failures, "limit": limit, "locked_until": locked_until}
