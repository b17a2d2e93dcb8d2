"""When each directory password expires, and whether it must change or is locked, read for
everyone in scope with one paged search (the README's "Directory": expiry reminders and the
helpdesk's list). Memory holds one page, the scope group's member names (OpenLDAP) and the
few password policies in use.

The helpdesk's list reads a snapshot in the database (PasswordScan and its PasswordLife rows)
written a page at a time, and filters, sorts and pages it in SQL: a page or an export holds one
page of rows, however many people the directory holds.

The reading itself is directory/password_scan.py (it needs python-ldap, the directory extra);
this module holds what the helpdesk's pages import in either mode.
"""

from __future__ import annotations

import contextlib
import datetime
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import QuerySet
from django.utils import timezone

from methods.masking import mask_email

from .accounts import DirectoryRefused, DirectoryUnavailable
from .models import PasswordLife, PasswordScan


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
# A scan completed less than this ago is read instead of the directory.
CACHE_SECONDS = 60
# One scan at a time across hosts and requests: the cache's add() is the lock. It lapses after
# LOCK_SECONDS should a scanning process die; a reader that finds no complete scan waits up to
# WAIT_SECONDS for the one under way.
LOCK_KEY = "sspr:directory:password-life:scanning"
LOCK_SECONDS = 15 * 60
# A scan being written says so after each page it writes, for twice as long as the lock lasts
# (which the run renews at each page too): a later run deletes an unfinished scan only once
# nobody has written to it for that long (its run died), never one a slow run is still writing,
# even through a page whose read outlasted the lock.
WRITING_KEY = "sspr:directory:password-life:writing:{}"
WRITING_SECONDS = 2 * LOCK_SECONDS
WAIT_SECONDS = 30
POLL_SECONDS = 0.25
BATCH_SIZE = 500  # rows written at once: one page of the directory's paged search
# The order of Life's fields, read straight into it.
FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "language",
    "expires_at",
    "must_change",
    "locked",
)


class StillReading(Exception):
    """Another request or host is reading the directory, and no scan is complete yet."""


class People:
    """The watched people of a scan, read from the database a chunk at a time (never all at
    once); len() counts them in the database."""

    def __init__(self, rows: QuerySet):
        self.rows = rows

    def __iter__(self) -> Iterator[Life]:
        return lives(self.rows)

    def __len__(self) -> int:
        return self.rows.count()


@dataclass(frozen=True)
class Watched:
    """The summary of one scan: who expires within WATCH_DAYS, has expired, must change or is
    locked (never everyone), and when it was read. Each person's email is masked."""

    read_at: datetime.datetime
    scanned: int
    scan_id: int
    # The directory could not be read just now: this is the newest scan there is, older than
    # the minute (the page says so).
    unreachable: bool = False

    @property
    def rows(self) -> QuerySet:
        """The scan's rows as values in Life's order, unordered: filter, order and page them."""
        return PasswordLife.objects.filter(scan_id=self.scan_id).values_list(*FIELDS)

    @property
    def people(self) -> People:
        return People(self.rows.order_by("username"))


def lives(rows: QuerySet) -> Iterator[Life]:
    """Rows of Watched.rows (filtered, ordered or sliced) as Life, a chunk at a time."""
    for values in rows.iterator(chunk_size=2000):
        yield Life(*values)


def _watched(life: Life, horizon: datetime.datetime) -> bool:
    return (
        life.must_change
        or life.locked
        or (life.expires_at is not None and life.expires_at <= horizon)
    )


def _row(scan: PasswordScan, life: Life) -> PasswordLife:
    return PasswordLife(
        scan=scan,
        username=life.username[:255],
        first_name=life.first_name[:150],
        last_name=life.last_name[:150],
        # Masked before it is stored (docs/security.md rules 20 and 48: the list is the
        # helpdesk's, which sees addresses masked; the reminders read the directory themselves).
        email=mask_email(life.email)[:254] if life.email else "",
        language=life.language[:35],
        expires_at=life.expires_at,
        must_change=life.must_change,
        locked=life.locked,
    )


def _writing(scan_pk: int, renew=None) -> None:
    """The scan is still being written (WRITING_KEY); `renew` keeps this run's lock too."""
    cache.set(WRITING_KEY.format(scan_pk), 1, timeout=WRITING_SECONDS)
    if renew is not None:
        renew()


def _scan(renew=None) -> PasswordScan:
    """Read everyone and write the watched people of each page as it arrives (memory: one
    page), then mark the scan complete and delete the older ones with their rows."""
    # The reading needs python-ldap (the directory extra), loaded only when the directory is
    # read so that the helpdesk's pages load in the embedded mode too.
    from .password_scan import scan

    now = timezone.now()
    horizon = now + datetime.timedelta(days=WATCH_DAYS)
    snapshot = PasswordScan.objects.create(read_at=now)
    _writing(snapshot.pk)
    scanned = 0
    try:
        for page in scan(now):
            scanned += len(page)
            PasswordLife.objects.bulk_create(
                [_row(snapshot, life) for life in page if _watched(life, horizon)],
                batch_size=BATCH_SIZE,
            )
            _writing(snapshot.pk, renew)
    except Exception:
        # Never shown (it is not complete); should this fail too, the next scan deletes it.
        with contextlib.suppress(DatabaseError):
            PasswordScan.objects.filter(pk=snapshot.pk).delete()
        raise
    done = timezone.now()
    PasswordScan.objects.filter(pk=snapshot.pk).update(
        scanned=scanned, complete=True, completed_at=done
    )
    snapshot.scanned, snapshot.complete, snapshot.completed_at = scanned, True, done
    # Older scans, complete or left over by a failed run, go with their rows; the one complete
    # scan before this stays until the next, for a page that picked it a moment ago and is
    # still reading its rows (it would count people and find none).
    previous = (
        PasswordScan.objects.filter(pk__lt=snapshot.pk, complete=True)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    older = PasswordScan.objects.filter(pk__lt=snapshot.pk).exclude(pk=previous)
    # An unfinished scan another run is still writing (it says so, WRITING_KEY), or began
    # within the lock's time (should the cache have lost what it said), is left to finish or
    # fail; any other was left by a run that died.
    unfinished = list(older.filter(complete=False).values_list("pk", flat=True))
    written = cache.get_many([WRITING_KEY.format(pk) for pk in unfinished])
    begun = now - datetime.timedelta(seconds=LOCK_SECONDS)
    older.exclude(pk__in=[pk for pk in unfinished if WRITING_KEY.format(pk) in written]).exclude(
        complete=False, read_at__gt=begun
    ).delete()
    cache.delete(WRITING_KEY.format(snapshot.pk))
    return snapshot


def _newest() -> PasswordScan | None:
    return PasswordScan.objects.filter(complete=True).order_by("-read_at", "-pk").first()


def _current(refresh: bool) -> PasswordScan:
    seen = _newest()
    fresh = timezone.now() - datetime.timedelta(seconds=CACHE_SECONDS)

    def enough(found: PasswordScan | None) -> bool:
        """Completed within the minute; for a refresh, completed since it was asked for."""
        if found is None:
            return False
        if refresh:
            return seen is None or found.pk != seen.pk
        return found.completed_at is not None and found.completed_at > fresh

    if not refresh and enough(seen):
        return seen
    deadline = time.monotonic() + WAIT_SECONDS
    waited = False
    while True:
        token = secrets.token_hex(8)
        if cache.add(LOCK_KEY, token, timeout=LOCK_SECONDS):
            try:
                newest = _newest() if waited else None

                def renew(token=token):
                    # Still ours: held on for another LOCK_SECONDS while pages are written.
                    if cache.get(LOCK_KEY) == token:
                        cache.set(LOCK_KEY, token, timeout=LOCK_SECONDS)

                # The scan this request waited for has just completed: it is the one to use.
                return newest if enough(newest) else _scan(renew)
            finally:
                # Only our own lock: one that lapsed during a long read may be another's now.
                if cache.get(LOCK_KEY) == token:
                    cache.delete(LOCK_KEY)
        # Another request or host is reading: use the newest complete scan, even an older one;
        # with none (or, for a refresh, none completed since it was asked for), wait for theirs.
        newest = _newest()
        if newest is not None and (not refresh or enough(newest)):
            return newest
        if time.monotonic() >= deadline:
            if newest is not None:
                return newest
            raise StillReading
        time.sleep(POLL_SECONDS)
        waited = True


def watched(refresh: bool = False) -> Watched:
    """The newest complete scan if younger than CACHE_SECONDS, else a new one (refresh: always
    a new one). When the directory cannot be read for a new one, the newest complete scan,
    marked unreachable (not for a refresh, which must see the directory as it is now). Raises
    StillReading, or DirectoryUnavailable or DirectoryRefused when there is no scan at all."""
    try:
        found = _current(refresh)
    except (DirectoryUnavailable, DirectoryRefused):
        found = None if refresh else _newest()
        if found is None:
            raise
        return Watched(
            read_at=found.read_at, scanned=found.scanned, scan_id=found.pk, unreachable=True
        )
    return Watched(read_at=found.read_at, scanned=found.scanned, scan_id=found.pk)
