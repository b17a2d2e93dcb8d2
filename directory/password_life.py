"""When each directory password expires, and whether it must change or is locked, read for
everyone in scope with one paged search (the README's "Directory": expiry reminders and the
helpdesk's list). Memory holds one page, the scope group's member names (OpenLDAP) and the
few password policies in use.

The reading itself is directory/password_scan.py (it needs python-ldap, the directory extra);
this module holds what the helpdesk's pages import in either mode.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone


@dataclass(frozen=True)
class Life:
    username: str
    first_name: str
    last_name: str
    email: str
    language: str
    expires_at: datetime.datetime | None
    must_change: bool
    locked: bool

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def days_left(self, now: datetime.datetime) -> int | None:
        """Whole days until expiry, rounded up (0 or less: expired); None: never expires."""
        if self.expires_at is None:
            return None
        seconds = (self.expires_at - now).total_seconds()
        return -int(-seconds // 86400)

    def expired(self, now: datetime.datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


# --- The helpdesk's list: who needs attention, read at most once a minute --------------------

WATCH_DAYS = 90  # the longest "expires within" the helpdesk can ask for
CACHE_KEY = "sspr:directory:password-life"
CACHE_SECONDS = 60


@dataclass(frozen=True)
class Watched:
    """The summary of one scan: who expires within WATCH_DAYS, has expired, must change or is
    locked (never everyone), and when it was read."""

    read_at: datetime.datetime
    people: tuple[Life, ...]
    scanned: int


def watched(refresh: bool = False) -> Watched:
    found = None if refresh else cache.get(CACHE_KEY)
    if found is None:
        now = timezone.now()
        horizon = now + datetime.timedelta(days=WATCH_DAYS)
        people: list[Life] = []
        scanned = 0
        # The reading needs python-ldap (the directory extra), loaded only when the directory
        # is read so that the helpdesk's pages load in the embedded mode too.
        from .password_scan import scan

        for page in scan(now):
            scanned += len(page)
            people.extend(
                life
                for life in page
                if life.must_change
                or life.locked
                or (life.expires_at is not None and life.expires_at <= horizon)
            )
        found = Watched(read_at=now, people=tuple(people), scanned=scanned)
        cache.set(CACHE_KEY, found, timeout=CACHE_SECONDS)
    return found
