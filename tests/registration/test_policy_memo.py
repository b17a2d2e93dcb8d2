"""A page reads the policy once; a change saved during a request is what the rest of it reads,
and nothing read is kept for the next request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from policy.models import Policy, request_memo

pytestmark = pytest.mark.django_db


def policy_reads(queries) -> int:
    return sum('FROM "registration_policy"' in q["sql"] for q in queries.captured_queries)


def test_a_page_reads_the_policy_once(signed_in):
    signed_in.get("/ssprsetup/phone/")
    with CaptureQueriesContext(connection) as queries:
        assert signed_in.get("/ssprsetup/phone/").status_code == 200
    assert policy_reads(queries) == 1


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


def test_outside_a_request_every_call_reads():
    assert Policy.load() is not Policy.load()
