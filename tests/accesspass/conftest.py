"""Fixtures for the temporary access pass tests (accesspass/); their helpers are in
tests/support/access_passes.py."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.access_passes import approvers_group, helpdesk_group
from tests.support.people import past_sign_in_check
from tests.support.slapd import (  # noqa: F401  (the real slapd, for test_directory.py)
    directory,
    slapd,
    slapd_people,
    slapd_tls,
)


@pytest.fixture
def agent(make_user):
    user = make_user("agent", password=None)
    user.groups.add(helpdesk_group())
    return user


@pytest.fixture
def desk(agent) -> Client:
    return past_sign_in_check(Client(), agent)


@pytest.fixture
def approver(make_user):
    user = make_user("boss", password=None)
    user.groups.add(approvers_group())
    return user


@pytest.fixture
def approver_desk(approver) -> Client:
    return past_sign_in_check(Client(), approver)
