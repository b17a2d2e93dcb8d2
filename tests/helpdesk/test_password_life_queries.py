"""The helpdesk's directory password list costs the same few database queries however many
people the directory holds (docs/security.md rule 48: one paged search, never a query per
row; the people come from the directory, not the database)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import past_sign_in_check
from tests.directory.conftest import (  # noqa: F401  (the directory's fixtures)
    slapd,
    slapd_people,
    slapd_tls,
    use_directory,
)

# Committed, as in production: the policy is then read from the cache, not once per request.
pytestmark = [pytest.mark.directory, pytest.mark.django_db(transaction=True)]

PAGE = "/helpdesk/passwords/?state=expiring&days=90"


def costs(client) -> tuple[int, int, str]:
    """Database queries of a first (uncached) read and of a cached one, and the page."""
    from directory.password_life import CACHE_KEY

    cache.clear()
    client.get(PAGE)  # the session back in the cache, as between any two requests
    cache.delete(CACHE_KEY)
    with CaptureQueriesContext(connection) as first:
        page = client.get(PAGE)
    assert page.status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert client.get(PAGE).status_code == 200
    return len(first), len(again), page.content.decode()


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
    assert "10 people" in few[2] and "200 people" in many[2]
    assert few[:2] == many[:2]
    # The agent and their permission; nothing per person listed.
    assert max(few[:2]) <= 2, few[:2]
