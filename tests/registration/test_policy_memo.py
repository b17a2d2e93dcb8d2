"""A page reads the policy at most once, from the shared cache when it is there; a change saved
during a request is what the rest of it reads, and what every later request reads."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from policy.models import Policy, request_memo

pytestmark = pytest.mark.django_db


def policy_reads(queries) -> int:
    return sum('FROM "registration_policy"' in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db(transaction=True)  # only a committed policy is cached
def test_a_page_reads_the_policy_once_and_then_from_the_cache(signed_in, policy):
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert signed_in.get("/ssprsetup/phone/").status_code == 200
    assert policy_reads(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert signed_in.get("/ssprsetup/phone/").status_code == 200
    assert policy_reads(queries) == 0


def test_a_cache_that_cannot_be_reached_falls_back_to_the_database(signed_in, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", unreachable)
    monkeypatch.setattr(cache, "set", unreachable)
    assert Policy.load().pk == 1


def test_the_next_request_sees_a_change_made_in_between(signed_in, policy):
    assert "desk@example.org" not in signed_in.get("/ssprsetup/").content.decode()
    policy.helpdesk_contact = "desk@example.org"
    policy.save()
    assert "desk@example.org" in signed_in.get("/ssprsetup/").content.decode()


def test_a_save_inside_a_request_is_read_back_in_the_same_request():
    token = request_memo.set({})
    try:
        first = Policy.load()
        assert Policy.load() is first  # read once
        first.helpdesk_contact = "changed@example.org"
        first.save()
        assert Policy.load() is not first
        assert Policy.load().helpdesk_contact == "changed@example.org"
    finally:
        request_memo.reset(token)


def test_outside_a_request_every_call_gets_its_own_copy():
    assert Policy.load() is not Policy.load()
