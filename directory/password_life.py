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
from datetime import UTC

from django.core.cache import cache
from django.utils import timezone

from methods.masking import mask_email


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
# The rows' layout is in the key: a deploy that changes it never reads the older layout.
CACHE_KEY = "sspr:directory:password-life:rows:1"
CACHE_SECONDS = 60

# One person in the cache: plain values only, never objects (the cache holds no pickled classes
# of ours), and the email already masked (docs/security.md rules 20 and 48: the list is the
# helpdesk's, which sees addresses masked; the reminders read the directory themselves).
# (username, first name, last name, masked email, language, expiry as epoch seconds or None,
#  must change, locked)
Row = tuple[str, str, str, str, str, int | None, bool, bool]


@dataclass(frozen=True)
class Watched:
    """The summary of one scan: who expires within WATCH_DAYS, has expired, must change or is
    locked (never everyone), and when it was read. Each person's email is masked."""

    read_at: datetime.datetime
    people: tuple[Life, ...]
    scanned: int


def _row(life: Life) -> Row:
    expires = int(life.expires_at.timestamp()) if life.expires_at is not None else None
    email = mask_email(life.email) if life.email else ""
    return (
        life.username,
        life.first_name,
        life.last_name,
        email,
        life.language,
        expires,
        life.must_change,
        life.locked,
    )


def _life(row: Row) -> Life:
    username, first_name, last_name, email, language, expires, must_change, locked = row
    return Life(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        language=language,
        expires_at=None if expires is None else datetime.datetime.fromtimestamp(expires, UTC),
        must_change=must_change,
        locked=locked,
    )


def _scan_rows() -> dict:
    now = timezone.now()
    horizon = now + datetime.timedelta(days=WATCH_DAYS)
    rows: list[Row] = []
    scanned = 0
    # The reading needs python-ldap (the directory extra), loaded only when the directory is
    # read so that the helpdesk's pages load in the embedded mode too.
    from .password_scan import scan

    for page in scan(now):
        scanned += len(page)
        rows.extend(
            _row(life)
            for life in page
            if life.must_change
            or life.locked
            or (life.expires_at is not None and life.expires_at <= horizon)
        )
    return {"read_at": int(now.timestamp()), "scanned": scanned, "rows": rows}


def watched(refresh: bool = False) -> Watched:
    found = None if refresh else cache.get(CACHE_KEY)
    if not isinstance(found, dict):
        found = _scan_rows()
        cache.set(CACHE_KEY, found, timeout=CACHE_SECONDS)
    return Watched(
        read_at=datetime.datetime.fromtimestamp(found["read_at"], UTC),
        people=tuple(_life(row) for row in found["rows"]),
        scanned=found["scanned"],
    )
