"""Clearing failed sign-ins (directory/lockout_handler.py, directory.lockout.clear_failures):
a name's records go and nobody else's, each clearing is one statement however many records
there are, and a sign-in past a wave of failures does not read the wave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.lockout import clear_failures, lockout_key
from directory.lockout_handler import LockoutHandler
from tests.support.people import sign_in

pytestmark = pytest.mark.django_db


def failed(username: str, address: str = "192.0.2.7", hours_ago: float = 0) -> None:
    attempt = AccessAttempt.objects.create(
        username=lockout_key(username),
        ip_address=address,
        user_agent="test",
        failures_since_start=1,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/ssprsetup/signin/",
    )
    if hours_ago:  # the time is the moment of writing on creation
        at = timezone.now() - timedelta(hours=hours_ago)
        AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=at)


def deletions(queries) -> list[str]:
    return [q["sql"] for q in queries if "axes_accessattempt" in q["sql"]]


def test_the_lockout_store_is_this_projects_handler():
    assert isinstance(AxesProxyHandler.get_implementation(force=True), LockoutHandler)


def test_a_name_with_failures_has_them_cleared_and_nobody_else():
    failed("rita")
    failed("rita", "192.0.2.8")
    failed("sam")
    assert clear_failures("rita") == 2
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [lockout_key("sam")]
    assert clear_failures("") == 0  # no name is not every name
    assert AccessAttempt.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # as on a page: no transaction around it
@pytest.mark.parametrize("records", [0, 40])
def test_clearing_a_name_is_one_statement_and_no_transaction(records):
    for n in range(records):
        failed("rita", f"192.0.2.{n}")
    failed("sam")
    with CaptureQueriesContext(connection) as queries:
        assert clear_failures("rita") == records
    assert len(queries) == 1 and queries[0]["sql"].startswith("DELETE")
    assert AccessAttempt.objects.filter(username=lockout_key("sam")).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("wave", [0, 300])
def test_a_sign_in_past_a_wave_of_failures_clears_it_in_one_statement(make_user, wave):
    """The sign-in clears every name's failures past the cool-off (here a wave of them, two
    hours old) and its own name's, each with one DELETE, whatever the wave's size; failures of
    other names within the cool-off stay."""
    make_user("rita")
    for n in range(wave):
        failed(f"guess{n}", hours_ago=2)
    failed("rita")
    failed("sam")
    with CaptureQueriesContext(connection) as queries:
        assert sign_in(Client(), "rita").status_code == 302
    assert len(deletions(queries)) == 3  # the lockout check's read, then two deletions
    assert sum(sql.startswith("DELETE") for sql in deletions(queries)) == 2
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [lockout_key("sam")]
