"""Helpers for the temporary access pass tests (accesspass/)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from tests.conftest import past_sign_in_check
from tests.directory.conftest import (  # noqa: F401  (the real slapd, for test_directory.py)
    directory,
    slapd,
    slapd_people,
    slapd_tls,
)

PASS_PATTERN = re.compile(r"<code>([2-9A-HJKMNP-Z]{4}(?:-[2-9A-HJKMNP-Z]{4}){3})</code>")


def helpdesk_group() -> Group:
    """The Helpdesk group, made again where a transactional test emptied the tables."""
    group, _ = Group.objects.get_or_create(name="Helpdesk")
    group.permissions.add(Permission.objects.get(codename="use_helpdesk"))
    return group


def approvers_group() -> Group:
    group, _ = Group.objects.get_or_create(name="Helpdesk administrators")
    group.permissions.add(
        Permission.objects.get(codename="use_helpdesk"),
        Permission.objects.get(codename="approve_access_pass"),
    )
    return group


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


def the_pass(response) -> str:
    match = PASS_PATTERN.search(response.content.decode())
    assert match, response.content.decode()[:3000]
    return match.group(1)


def issue(desk: Client, person, verification="in_person", note="Saw her staff card at the desk"):
    """The agent issues a pass for an ordinary account; the response shows it once."""
    return desk.post(
        f"/helpdesk/pass/users/{person.pk}/", {"verification": verification, "note": note}
    )


def use_pass(client: Client, username: str, value: str):
    return client.post("/ssprsetup/pass/", {"username": username, "access_pass": value})
