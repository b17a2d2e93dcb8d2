"""The sign-in lockout in both account stores (docs/security.md §39-40).

- One name per account: every lockout, limit and audit key is the name as the account store
  resolves it (`canonical_username`), so `ADA`, `Ada` and `ada` share one count in directory
  mode, where they are one account.
- The site is never the way a directory account gets locked: its per-name limit stays below
  the directory's own threshold, and before a person's password is tried against the directory
  the failures it already counts are read (the directory's `may_try_password`).

django-axes keeps the count: `axes_username` and `failure_limit` are its callables.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .accounts import DirectoryRefused, DirectoryUnavailable, accounts
from .conf import app_settings

THRESHOLD_KEY = "sspr:directory:lockout-threshold"


def username_key(username: str | None) -> str:
    """The name every lockout, limit and audit record is kept under."""
    return accounts().canonical_username(username or "")[:255]


def axes_username(request, credentials=None) -> str:
    """AXES_USERNAME_CALLABLE."""
    name = (credentials or {}).get("username")
    if name is None and request is not None and request.method == "POST":
        name = request.POST.get("username", "")
    return username_key(name)


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
    """The site's own count for a name, for the helpdesk: failures since the count began, the
    limit, and until when the name is locked (None when it is not). One query."""
    from axes.models import AccessAttempt

    limit = failure_limit()
    attempt = (
        AccessAttempt.objects.filter(username=username_key(username))
        .order_by("-attempt_time")
        .values("failures_since_start", "attempt_time")
        .first()
    )
    failures = attempt["failures_since_start"] if attempt else 0
    locked_until = None
    if attempt and failures >= limit:
        locked_until = attempt["attempt_time"] + datetime.timedelta(
            hours=settings.AXES_COOLOFF_TIME
        )
        if locked_until <= timezone.now():
            locked_until, failures = None, 0
    return {"failures": failures, "limit": limit, "locked_until": locked_until}
