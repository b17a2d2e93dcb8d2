"""The helpdesk's directory password list costs the same few database queries however many
people the directory holds (docs/security.md rule 48: one paged search, never a query per
row). The people come from the directory, read at most once a minute into a snapshot in the
database, which the page counts and reads one page of."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from tests.support.directory import use_directory
from tests.support.people import past_sign_in_check
from tests.support.slapd import (  # noqa: F401  (the directory's fixtures)
    slapd,
    slapd_people,
    slapd_tls,
)

# Committed, as in production: the policy is then read from the cache, not once per request.
pytestmark = [pytest.mark.directory, pytest.mark.django_db(transaction=True)]

PAGE = "/helpdesk/passwords/?state=expiring&days=90"


def writes_of_rows(queries) -> int:
    return sum('INSERT INTO "directory_passwordlife"' in query["sql"] for query in queries)


def costs(client) -> tuple[int, int, int, str]:
    """Database queries of a first read (the last scan older than a minute: the directory is
    read again and written to the database) and of a later one within the minute, the first
    read's batched writes of rows left out (counted apart, third), and the page."""
    from directory.models import PasswordScan

    cache.clear()
    PasswordScan.objects.all().delete()  # each measure starts from the same history
    client.get(PAGE)  # the session back in the cache, as between any two requests
    PasswordScan.objects.update(completed_at=F("completed_at") - datetime.timedelta(minutes=2))
    with CaptureQueriesContext(connection) as first:
        page = client.get(PAGE)
    assert page.status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert client.get(PAGE).status_code == 200
    writes = writes_of_rows(first.captured_queries)
    return len(first) - writes, len(again), writes, page.content.decode()


@pytest.fixture
def everyone_in_scope(settings, slapd):  # noqa: F811  (the fixture imported above)
    """The test directory, with everyone under its people in scope (set before the agent signs
    in: the sign-in keeps the name of the backend it used)."""
    use_directory(settings, {**slapd.environment(), "LDAP_SCOPE_GROUP": ""})
    yield slapd
    from directory.accounts import reset_caches

    reset_caches()


@pytest.fixture
def agent(everyone_in_scope, make_user):
    """A helpdesk agent, signed in. The group and its permission are made again: a
    transactional test empties them."""
    from django.contrib.auth.models import Group, Permission
    from django.test import Client

    person = make_user("agent", password=None)
    person.groups.add(Group.objects.get_or_create(name="Helpdesk")[0])
    person.user_permissions.add(Permission.objects.get(codename="use_helpdesk"))
    return past_sign_in_check(Client(), person)


def test_the_list_costs_the_same_few_queries_for_10_or_200_people(everyone_in_scope, agent):
    everyone_in_scope.load_many_offline(10, expiring=True)
    few = costs(agent)
    everyone_in_scope.load_many_offline(190, start=10, expiring=True)
    many = costs(agent)
    # Everyone's password was set within the policy's 30 days: all are listed.
    assert "10 people" in few[3] and "200 people" in many[3]
    assert few[:2] == many[:2]
    # Within the minute: the agent and their permission, the newest scan, the count and one
    # page of rows; nothing per person listed.
    assert few[1] <= 5, few[1]
    # A first read also writes the scan, marks it complete and deletes the older one (each
    # write in its own short transaction: SQLite's BEGIN and COMMIT are counted).
    assert few[0] <= 15, few[0]
    # The rows are written in batches as the directory's pages arrive, never one by one.
    assert few[2] == 1 and 1 <= many[2] <= 200 // 100, (few[2], many[2])


def test_a_page_reads_one_page_of_rows_and_the_export_streams_them_all(everyone_in_scope, agent):
    """250 people, pages of 100: the database gives a page 100 rows (never all 250), and the
    export lists the same people in the same order as the pages do."""
    import re

    from helpdesk.password_life import PAGE_SIZE

    everyone_in_scope.load_many_offline(250, expiring=True)
    assert PAGE_SIZE == 100
    agent.get(PAGE)  # the first read: the directory read into the database
    shown = []
    for number in (1, 2, 3):
        with CaptureQueriesContext(connection) as queries:
            text = agent.get(f"{PAGE}&sort=-name&page={number}").content.decode()
        reads = [
            query["sql"]
            for query in queries.captured_queries
            if 'FROM "directory_passwordlife"' in query["sql"] and "COUNT(*)" not in query["sql"]
        ]
        limit = 100 if number < 3 else 50  # the last page holds the 50 left
        assert len(reads) == 1 and f"LIMIT {limit}" in reads[0], reads
        body = text[text.index("<tbody") : text.index("</tbody>")]
        shown += re.findall(r'<td role="cell" class="whole">([^<]+)</td>', body)
    assert len(shown) == 250 == len(set(shown))
    export = agent.get("/helpdesk/passwords/export.csv?state=expiring&days=90&sort=-name")
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert [line.split(",")[0] for line in body.strip().splitlines()[1:]] == shown
