"""Every form the site serves, walked from the fuzzer's list of every URL (test_fuzz.py, which
fails when a URL is missing from it): each POST without the CSRF token is refused by whoever
sends it (docs/security.md §22), and each answer, refusals included, forbids being framed
(docs/security.md §26). A page added later is checked without an edit here."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import Event
from tests.attacks.test_fuzz import ENDPOINTS, world  # noqa: F401  (the fuzzer's visitors)

pytestmark = pytest.mark.django_db

POSTS = sorted({(who, path) for who, method, path, _fields in ENDPOINTS if method == "POST"})


def _as(world: dict, who: str, *, enforce: bool) -> Client:  # noqa: F811
    """A client with the same session as the fuzzer's visitor `who`."""
    client = Client(enforce_csrf_checks=enforce)
    client.cookies = world[who].cookies
    return client


def _cannot_be_framed(response, path: str) -> None:
    assert response.get("X-Frame-Options") == "DENY", path
    assert "frame-ancestors 'none'" in response.get("Content-Security-Policy", ""), path


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(world):  # noqa: F811
    events = Event.objects.count()
    let_through = []
    for who, path in POSTS:
        response = _as(world, who, enforce=True).post(path.format(uid=world["uid"]), {})
        if response.status_code != 403:
            let_through.append((path, response.status_code))
        _cannot_be_framed(response, path)
    assert let_through == []
    assert Event.objects.count() == events  # nothing happened that the audit log would hold


def test_every_page_forbids_being_framed(world):  # noqa: F811
    for who, path in sorted({(who, path) for who, _method, path, _fields in ENDPOINTS}):
        response = _as(world, who, enforce=False).get(path.format(uid=world["uid"]))
        assert response.status_code < 500, path
        _cannot_be_framed(response, path)


def test_the_list_holds_the_forms_that_act_for_someone_else():
    """The ones a page on another site would most like to send for a signed-in agent."""
    for path in (
        "/helpdesk/pass/requests/{uid}/",  # approving a pass: the two-person rule
        "/helpdesk/pass/users/{uid}/",  # asking for a pass
        "/helpdesk/users/{uid}/reset-block/",  # lifting a block on resets
        "/helpdesk/users/{uid}/resume/",  # turning self-service on again
        "/ssprsetup/not-me/eyJ4IjoxfQ:1abc:def/",  # "That wasn't me"
    ):
        assert any(p == path for _who, p in POSTS), path
