"""The reset portal's first page is rendered once per language and kept (sspr_site/kept_pages.py):
what each reader gets is what a fresh render gives them, with their own CSRF token, and anything
of the reader's, or a change of policy, is on the page at once."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from policy.models import Policy
from sspr_site import kept_pages

from .conftest import start_reset

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _nothing_kept():
    kept_pages.forget_all()
    yield
    kept_pages.forget_all()


def without_tokens(page: str) -> str:
    return TOKEN.sub('name="csrfmiddlewaretoken" value=""', page)


def test_each_reader_gets_the_page_a_fresh_render_gives_with_a_token_of_their_own():
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    rendered = first.get("/passwordreset/")
    kept = second.get("/passwordreset/")
    assert rendered.templates and not kept.templates  # the second reader's was not rendered
    kept_first, kept_second = rendered.content.decode(), kept.content.decode()
    kept_pages.forget_all()
    fresh = Client().get("/passwordreset/").content.decode()
    assert without_tokens(kept_first) == without_tokens(kept_second) == without_tokens(fresh)
    assert kept_pages.TOKEN_STAND_IN not in kept_first + kept_second
    (token_first,) = set(TOKEN.findall(kept_first))
    (token_second,) = set(TOKEN.findall(kept_second))
    assert token_first != token_second
    # Each token is the reader's own: the form posts with it (the check refuses, not the CSRF
    # guard), and not with the other reader's cookie.
    answer = first.post(
        "/passwordreset/", {"username": "rita", "altcha": "x", "csrfmiddlewaretoken": token_first}
    )
    assert answer.status_code == 200
    assert "The automatic check did not finish" in answer.content.decode()
    second.cookies["csrftoken"] = "x" * 32
    refused = second.post(
        "/passwordreset/", {"username": "rita", "altcha": "x", "csrfmiddlewaretoken": token_second}
    )
    assert refused.status_code == 403


def test_each_language_keeps_its_own_page():
    english = Client().get("/passwordreset/").content.decode()
    german = Client(HTTP_ACCEPT_LANGUAGE="de").get("/passwordreset/").content.decode()
    english_again = Client().get("/passwordreset/").content.decode()
    assert "Reset your password or unlock your account" in english
    assert 'lang="de"' in german and "Reset your password or unlock" not in german
    assert without_tokens(english) == without_tokens(english_again)


def test_a_change_of_policy_is_on_the_next_page():
    assert "it-help@example.org" not in Client().get("/passwordreset/").content.decode()
    policy = Policy.load()
    policy.helpdesk_contact = "it-help@example.org"
    policy.save()
    assert "it-help@example.org" in Client().get("/passwordreset/").content.decode()


def test_a_change_that_bypassed_the_model_shows_once_the_policy_is_read_again():
    from policy.models import CACHE_KEY
    from sspr_site import shared_cache

    Client().get("/passwordreset/")  # kept
    Policy.objects.filter(pk=Policy.load().pk).update(helpdesk_contact="desk@example.org")
    shared_cache.forget(CACHE_KEY)  # as when the policy's cache entry ends
    assert "desk@example.org" in Client().get("/passwordreset/").content.decode()


def test_what_is_the_readers_own_is_rendered_for_them(client, registered, make_user):
    Client().get("/passwordreset/")  # kept
    # A query string, even one that reads as empty: the page shows it (the language form's
    # way back), so it is this reader's.
    response = client.get("/passwordreset/?&&&")
    assert response.templates
    assert "?&amp;&amp;&amp;" in response.content.decode()
    assert "&amp;&amp;" not in Client().get("/passwordreset/").content.decode()
    # A name carried over from the locked-out page.
    response = client.get("/passwordreset/?username=carried.over")
    assert response.templates  # rendered for this reader
    assert 'value="carried.over"' in response.content.decode()
    # An attempt under way: its time limit.
    start_reset(client, "rita")
    response = client.get("/passwordreset/")
    assert response.templates
    assert 'class="time-limit"' in response.content.decode()
    assert 'class="time-limit"' not in Client().get("/passwordreset/").content.decode()
    # Someone signed in.
    signed_in = Client()
    signed_in.force_login(make_user("sam"))
    assert "Signed in as sam" in signed_in.get("/passwordreset/").content.decode()


def test_a_waiting_message_is_shown_not_kept(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.messages import add_message, constants
    from django.contrib.messages.middleware import MessageMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware

    def request():
        made = rf.get("/passwordreset/")
        made.user = AnonymousUser()
        SessionMiddleware(lambda r: None).process_request(made)
        MessageMiddleware(lambda r: None).process_request(made)
        return made

    quiet, told = request(), request()
    add_message(told, constants.ERROR, "Your attempt ended.")
    assert kept_pages.same_for_everyone(quiet)
    assert not kept_pages.same_for_everyone(told)
    page = kept_pages.render_kept(
        told, "passwordreset/start.html", {"form": None}, version=1
    ).content.decode()
    assert "Your attempt ended." in page
