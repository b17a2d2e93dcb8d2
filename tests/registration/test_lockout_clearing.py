"""Clearing a name's failed sign-ins (directory.lockout.clear_failures), as a reset, an
unlock, a password change and a temporary pass do: the name's records go, nobody else's, and a
name with none on record, the usual case, costs one read and no transaction."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.lockout import clear_failures

pytestmark = pytest.mark.django_db


def failed(username: str, address: str = "192.0.2.7") -> None:
    AccessAttempt.objects.create(
        username=username,
        ip_address=address,
        user_agent="test",
        attempt_time=timezone.now(),
        failures_since_start=1,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/ssprsetup/signin/",
    )


def test_a_name_with_failures_has_them_cleared_and_nobody_else(make_user):
    failed("rita")
    failed("rita", "192.0.2.8")
    failed("sam")
    assert clear_failures("rita") == 2
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["sam"]


@pytest.mark.django_db(transaction=True)  # as on a page: no transaction around it
def test_a_name_with_none_costs_one_read_and_no_transaction():
    failed("sam")
    with CaptureQueriesContext(connection) as queries:
        assert clear_failures("rita") == 0
    assert len(queries) == 1 and queries[0]["sql"].startswith("SELECT")
    assert AccessAttempt.objects.filter(username="sam").count() == 1


def test_with_another_lockout_store_the_reset_is_always_asked(settings, monkeypatch):
    asked = []
    monkeypatch.setattr("axes.utils.reset", lambda **kwargs: asked.append(kwargs) or 0)
    settings.AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
    assert clear_failures("rita") == 0
    assert asked == [{"username": "rita"}]
