"""The helpdesk's list of directory passwords reads a snapshot in the database (the README's
"Directory"): one scan at a time across requests and hosts, a new scan replaces the old, the
email is stored masked (docs/security.md rules 20 and 48), and the list filters and sorts in
SQL exactly as the Python it replaced. The directory's paged search is stood in for here; the
real one is read in test_password_life.py and tests/helpdesk/test_password_life_queries.py."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.db import connection

from directory.accounts import DirectoryUnavailable
from directory.password_life import Life

pytestmark = [pytest.mark.directory]

NOW = datetime.datetime.now(datetime.UTC)


def life(username: str, days: float | None = 5, **changes) -> Life:
    values = {
        "username": username,
        "first_name": username.title(),
        "last_name": "Person",
        "email": f"{username}@example.org",
        "language": "",
        "expires_at": None if days is None else NOW + datetime.timedelta(days=days),
        "must_change": False,
        "locked": False,
        **changes,
    }
    return Life(**values)


class Directory:
    """The paged search's stand-in: pages of Life, each read counted."""

    def __init__(self, pages, pause: float = 0.0, fail_after: int | None = None):
        self.pages = pages
        self.pause = pause
        self.fail_after = fail_after
        self.reads = 0

    def scan(self, now=None):
        self.reads += 1
        for number, page in enumerate(self.pages):
            if self.fail_after is not None and number >= self.fail_after:
                raise DirectoryUnavailable("gone")
            time.sleep(self.pause)
            yield list(page)


@pytest.fixture
def directory_reads(monkeypatch):
    from django.core.cache import cache

    import directory.password_scan

    cache.clear()

    def use(*pages, **options) -> Directory:
        stand_in = Directory(pages, **options)
        monkeypatch.setattr(directory.password_scan, "scan", stand_in.scan)
        return stand_in

    return use


def stored_table() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM directory_passwordlife")
        return repr(cursor.fetchall())


@pytest.mark.django_db
def test_only_the_watched_are_stored_and_their_email_masked(directory_reads):
    from directory.password_life import watched

    directory_reads(
        [life("ann"), life("bob", days=200), life("cat", days=None, must_change=True)],
        [life("dan", days=-3), life("eli", days=None), life("fay", days=300, locked=True)],
    )
    found = watched()
    assert found.scanned == 6
    assert sorted(person.username for person in found.people) == ["ann", "cat", "dan", "fay"]
    assert len(found.people) == 4
    table = stored_table()
    assert "a•••@example.org" in table
    for name in ("ann", "bob", "cat", "dan", "eli", "fay"):
        assert f"{name}@example.org" not in table


@pytest.mark.django_db
def test_a_read_within_the_minute_uses_the_snapshot_and_a_later_one_reads_again(
    directory_reads,
):
    from directory.models import PasswordScan
    from directory.password_life import watched

    reads = directory_reads([life("ann")])
    first = watched()
    assert watched().scan_id == first.scan_id and reads.reads == 1
    # The minute counts from the end of the read (a long read is not read again at once).
    PasswordScan.objects.update(read_at=NOW - datetime.timedelta(minutes=5))
    assert watched().scan_id == first.scan_id and reads.reads == 1
    PasswordScan.objects.update(completed_at=NOW - datetime.timedelta(seconds=61))
    again = watched()
    assert again.scan_id != first.scan_id and reads.reads == 2


@pytest.mark.django_db
def test_a_new_scan_replaces_the_old_and_its_rows(directory_reads):
    """The scan before the newest stays until the next one (a page that picked it a moment ago
    still finds its rows); older ones, and one left by a run that died, go with their rows."""
    from directory.models import PasswordLife, PasswordScan
    from directory.password_life import _writing, watched

    directory_reads([life("ann"), life("bob")])
    first = watched(refresh=True)
    # A scan left over by a run that died half way (longer ago than the lock lasts) is removed
    # with the next; one still being written by a run that outlived its lock is left alone.
    PasswordScan.objects.create(read_at=NOW - datetime.timedelta(hours=1))
    directory_reads([life("cat")])
    second = watched(refresh=True)
    assert sorted(PasswordScan.objects.values_list("pk", flat=True)) == [
        first.scan_id,
        second.scan_id,
    ]
    assert sorted(second.people.rows.values_list("username", flat=True)) == ["cat"]
    directory_reads([life("dan")])
    third = watched(refresh=True)
    assert sorted(PasswordScan.objects.values_list("pk", flat=True)) == [
        second.scan_id,
        third.scan_id,
    ]
    assert not PasswordLife.objects.filter(scan_id=first.scan_id).exists()
    assert sorted(PasswordLife.objects.values_list("username", flat=True)) == ["cat", "dan"]
    # Another run's, begun long ago and still being written (it wrote a page a moment ago):
    # it is left alone; one nobody has written to since its lock's time is not.
    writing = PasswordScan.objects.create(read_at=NOW - datetime.timedelta(hours=1))
    _writing(writing.pk)
    dead = PasswordScan.objects.create(read_at=NOW - datetime.timedelta(hours=1))
    directory_reads([life("eve")])
    watched(refresh=True)
    assert PasswordScan.objects.filter(pk=writing.pk).exists()
    assert not PasswordScan.objects.filter(pk=dead.pk).exists()


@pytest.mark.django_db
def test_a_scan_that_fails_half_way_keeps_the_last_complete_one(directory_reads):
    from directory.models import PasswordLife, PasswordScan
    from directory.password_life import watched

    directory_reads([life("ann")])
    kept = watched(refresh=True)
    directory_reads([life("bob")], [life("cat")], fail_after=1)
    with pytest.raises(DirectoryUnavailable):
        watched(refresh=True)
    assert list(PasswordScan.objects.values_list("pk", flat=True)) == [kept.scan_id]
    assert list(PasswordLife.objects.values_list("username", flat=True)) == ["ann"]
    assert [person.username for person in watched().people] == ["ann"]


def read_at_once(refresh: bool) -> list:
    """Two requests reading at the same moment, each with its own database connection."""
    from directory.password_life import watched

    found, errors = [], []

    def read():
        try:
            found.append(watched(refresh=refresh))
        except Exception as error:  # noqa: BLE001  (shown by the assertion below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("refresh", [False, True])
def test_two_reads_at_once_read_the_directory_once(directory_reads, refresh):
    from directory.models import PasswordScan

    reads = directory_reads([life("ann")], [life("bob")], pause=0.3)
    found = read_at_once(refresh)
    assert reads.reads == 1
    assert {each.scan_id for each in found} == set(
        PasswordScan.objects.values_list("pk", flat=True)
    )
    assert len(found) == 2 and found[0].scan_id == found[1].scan_id


@pytest.mark.django_db
def test_a_read_while_another_scans_uses_the_older_snapshot(directory_reads):
    from django.core.cache import cache

    from directory.models import PasswordScan
    from directory.password_life import LOCK_KEY, watched

    reads = directory_reads([life("ann")])
    old = watched()
    PasswordScan.objects.update(completed_at=NOW - datetime.timedelta(minutes=5))
    cache.add(LOCK_KEY, True, 60)  # another host is reading
    assert watched().scan_id == old.scan_id and reads.reads == 1


@pytest.mark.django_db
def test_with_no_snapshot_yet_a_read_waits_for_the_one_under_way(directory_reads, monkeypatch):
    from django.core.cache import cache

    import directory.password_life as password_life

    directory_reads([life("ann")])
    monkeypatch.setattr(password_life, "WAIT_SECONDS", 0.5)
    monkeypatch.setattr(password_life, "POLL_SECONDS", 0.05)
    cache.add(password_life.LOCK_KEY, True, 60)  # another host is reading, and never ends
    began = time.monotonic()
    with pytest.raises(password_life.StillReading):
        password_life.watched()
    assert time.monotonic() - began >= 0.5


def test_the_page_says_the_list_is_being_read_rather_than_wait_long(
    directory, helpdesk_client, directory_reads, monkeypatch
):
    from django.core.cache import cache

    import directory.password_life as password_life

    monkeypatch.setattr(password_life, "WAIT_SECONDS", 0.2)
    monkeypatch.setattr(password_life, "POLL_SECONDS", 0.05)
    cache.add(password_life.LOCK_KEY, True, 60)  # another host is reading, and no list yet
    for path in ("/helpdesk/passwords/", "/helpdesk/passwords/export.csv"):
        response = helpdesk_client.get(path)
        assert response.status_code == 503 and response["Retry-After"] == "60"
        assert "The directory is being read for this list." in response.content.decode()


# --- Filters and sorts in SQL, the same as the Python they replaced ---------------------------


def python_matching(lives, state, days, now):
    horizon = now + datetime.timedelta(days=days)
    if state == "expired":
        return [each for each in lives if each.expired(now)]
    if state == "must_change":
        return [each for each in lives if each.must_change]
    if state == "locked":
        return [each for each in lives if each.locked]
    if state == "expiring":
        return [each for each in lives if each.expires_at and now < each.expires_at <= horizon]
    return [
        each
        for each in lives
        if each.locked or each.must_change or (each.expires_at and each.expires_at <= horizon)
    ]


def python_sorted(lives, sort, now):
    from helpdesk.password_life import state_of

    far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    keys = {
        "username": lambda each: each.username,
        "name": lambda each: (each.last_name.lower(), each.first_name.lower(), each.username),
        "expires": lambda each: (each.expires_at or far, each.username),
        "state": lambda each: (state_of(each, now), each.username),
    }
    return sorted(lives, key=keys[sort.lstrip("-")], reverse=sort.startswith("-"))


MIXED = [
    life("zoe", days=3, first_name="Zoe", last_name="adams"),
    life("yan", days=3, first_name="yan", last_name="Adams"),
    life("xia", days=None, must_change=True, last_name="Brown"),
    life("wes", days=None, locked=True, last_name="brown", first_name="Abe"),
    life("vic", days=-2, last_name="Clark"),
    life("uma", days=-2, locked=True, last_name="Clark"),
    life("tom", days=40, must_change=True, last_name=""),
    life("sam", days=80, first_name="", last_name=""),
    life("rae", days=14, last_name="Dunn"),
    life("quinn", days=14.5, last_name="dunn", first_name="amy"),
    life("pat", days=0.5, locked=True, must_change=True),
    life("ola", days=-40, must_change=True, last_name="Evans"),
]


@pytest.mark.django_db
def test_the_lists_filters_and_sorts_in_sql_match_the_python_they_replaced(directory_reads):
    from directory.password_life import lives, watched
    from helpdesk.password_life import SORTS, _matching, _sorted

    directory_reads(MIXED[:5], MIXED[5:])
    found = watched()
    now = datetime.datetime.now(datetime.UTC)
    for state in ("", "expiring", "expired", "must_change", "locked"):
        for days in (1, 14, 90):
            for sort in [*SORTS, *("-" + each for each in SORTS)]:
                in_sql = lives(_sorted(_matching(found.rows, state, days, now), sort, now))
                expected = python_sorted(python_matching(MIXED, state, days, now), sort, now)
                assert [each.username for each in in_sql] == [each.username for each in expected], (
                    state,
                    days,
                    sort,
                )


@pytest.mark.django_db(transaction=True)
def test_a_run_slower_than_its_lock_keeps_its_scan_and_finishes(monkeypatch, settings):
    """Run A's read of one page outlasts its lock (time passes, and the cache's keys lapse as
    they would); run B, on another host, scans meanwhile: A's scan, written to a page ago, is
    left alone, and A finishes it (it was deleted under it, and A's next page failed)."""
    import time_machine
    from django.core.cache import cache

    # A cache whose keys lapse on the test's clock (Redis's go by its own).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    import directory.password_life as pl
    import directory.password_scan
    from directory.models import PasswordScan

    cache.clear()
    seen = {}

    def scan_b(now=None):
        yield [life("bob")]

    with time_machine.travel(datetime.datetime.now(datetime.UTC), tick=True) as clock:

        def scan_a(now=None):
            yield [life("ann")]
            a_scan = PasswordScan.objects.get(complete=False)
            clock.shift(datetime.timedelta(seconds=pl.LOCK_SECONDS + 1))
            seen["lock"] = cache.get(pl.LOCK_KEY)
            monkeypatch.setattr(directory.password_scan, "scan", scan_b)
            pl.watched(refresh=True)  # run B
            seen["kept"] = PasswordScan.objects.filter(pk=a_scan.pk).exists()
            yield [life("cat")]

        monkeypatch.setattr(directory.password_scan, "scan", scan_a)
        finished = pl.watched(refresh=True)  # run A
    assert seen["lock"] is None  # A's lock had lapsed: B could scan
    assert seen["kept"]
    assert sorted(finished.people.rows.values_list("username", flat=True)) == ["ann", "cat"]
