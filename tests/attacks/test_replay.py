"""Replaying what worked once: the proof-of-work, in every encoding of the same solution."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from passwordreset import captcha

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_captcha(settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000


def reencodings(payload: str) -> list[str]:
    """The same solution in other bytes: spacing, key order, base64 without padding."""
    data = json.loads(base64.b64decode(payload))
    compact = json.dumps(data, separators=(",", ":")).encode()
    reordered = json.dumps(dict(reversed(list(data.items()))), indent=1).encode()
    return [
        base64.b64encode(compact).decode(),
        base64.b64encode(reordered).decode(),
        base64.b64encode(b" " + compact).decode(),
    ]


def start(payload: str, username: str = "rita"):
    return Client().post("/passwordreset/", {"username": username, "altcha": payload})


def test_a_solution_re_encoded_is_still_the_same_spent_challenge(client):
    solution = captcha.solve(client.get("/passwordreset/check/").json())
    variants = reencodings(solution)
    assert len({solution, *variants}) == 4  # four different byte strings
    assert start(variants[0]).status_code == 302
    for payload in [solution, *variants[1:]]:
        response = start(payload, username="someone-else")
        assert response.status_code == 200
        assert "automatic check did not finish" in response.content.decode()


def test_two_different_challenges_each_work_once(client):
    first = captcha.solve(client.get("/passwordreset/check/").json())
    second = captcha.solve(client.get("/passwordreset/check/").json())
    assert start(first).status_code == 302
    assert start(second).status_code == 302
