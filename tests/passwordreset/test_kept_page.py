"""The reset portal's first page is rendered once per language and kept (sspr_site/kept_pages.py):
what each reader gets is what a fresh render gives them, with their own CSRF token, and anything
of the reader's, or a change of policy, is on the page at once."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from policy.models import Policy
from sspr_site import kept_pages
from tests.support.resets import start_reset

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
    assert '<html lang="de"' in german and "Reset your password or unlock" not in german
    assert without_tokens(english) == without_tokens(english_again)


def test_a_change_of_policy_is_on_the_next_page():
    assert "it-help@example.org" not in Client().get("/passwordreset/").content.decode()
    policy = Policy.load()
    policy.helpdesk_contact = "it-help@example.org"
    policy.save()
    assert "it-help@example.org" in Client().get("/passwordreset/").content.decode()


def test_a_change_made_elsewhere_shows_within_a_second(monkeypatch):
    """A change saved by another host, or one that bypassed the model, reaches the kept page
    once the policy is read again: at most a second later."""
    from policy.models import CACHE_KEY
    from sspr_site import shared_cache

    now = [1000.0]
    monkeypatch.setattr(kept_pages, "clock", lambda: now[0])
    Client().get("/passwordreset/")  # kept
    Client().get("/passwordreset/")  # answered early
    Policy.objects.filter(pk=Policy.load().pk).update(helpdesk_contact="desk@example.org")
    shared_cache.forget(CACHE_KEY)  # as when the policy's cache entry ends
    now[0] += kept_pages.STILL_CURRENT * 0.9
    assert "desk@example.org" not in Client().get("/passwordreset/").content.decode()
    now[0] += kept_pages.STILL_CURRENT * 0.1
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
    # An attempt under way: rendered for the reader (the first page starts a new attempt, so
    # it shows no time limit of the earlier one: test_time_limits.py).
    start_reset(client, "rita")
    response = client.get("/passwordreset/")
    assert response.templates
    assert 'class="time-limit"' not in response.content.decode()
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
        told, "passwordreset/start.html", {"form": None}, version_of=lambda: 1
    ).content.decode()
    assert "Your attempt ended." in page


class CountingRenders:
    """How many times the view's kept render ran (the whole stack answered)."""

    def __init__(self, monkeypatch):
        from passwordreset import views

        self.times = 0
        real = views.render_kept

        def counted(*args, **kwargs):
            self.times += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(views, "render_kept", counted)


class CountingEarlyAnswers:
    """How many answers the middleware gave before the rest of the stack."""

    def __init__(self, monkeypatch):
        self.times = 0
        real = kept_pages.KeptPageMiddleware.answer

        def counted(middleware, request, answer):
            self.times += 1
            return real(middleware, request, answer)

        monkeypatch.setattr(kept_pages.KeptPageMiddleware, "answer", counted)


HEADERS_OF_THE_MOMENT = {"Expires", "X-Request-ID"}


def test_a_plain_reader_gets_the_whole_stacks_answer_before_the_rest_of_it_runs(monkeypatch):
    renders = CountingRenders(monkeypatch)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    whole = first.get("/passwordreset/")
    early = second.get("/passwordreset/")
    assert renders.times == 1  # the second reader's answer came before the view
    # The same page and headers (the security headers included), but for the moment's.
    assert without_tokens(whole.content.decode()) == without_tokens(early.content.decode())
    assert {k: v for k, v in whole.items() if k not in HEADERS_OF_THE_MOMENT} == {
        k: v for k, v in early.items() if k not in HEADERS_OF_THE_MOMENT
    }
    assert early["Content-Security-Policy"] and early["X-Frame-Options"] == "DENY"
    assert early["X-Request-ID"] != whole["X-Request-ID"]
    # A CSRF cookie of the reader's own, set as the whole stack sets it.
    whole_cookie, early_cookie = whole.cookies["csrftoken"], second.cookies["csrftoken"]
    assert early_cookie.value != whole_cookie.value
    assert {k: whole_cookie[k] for k in ("path", "samesite", "httponly", "secure", "max-age")} == {
        k: early_cookie[k] for k in ("path", "samesite", "httponly", "secure", "max-age")
    }
    # The token in the page goes with that cookie, and with no other.
    (token,) = set(TOKEN.findall(early.content.decode()))
    answer = second.post(
        "/passwordreset/", {"username": "rita", "altcha": "x", "csrfmiddlewaretoken": token}
    )
    assert "The automatic check did not finish" in answer.content.decode()
    first_token = TOKEN.findall(whole.content.decode())[0]
    refused = second.post(
        "/passwordreset/", {"username": "rita", "altcha": "x", "csrfmiddlewaretoken": first_token}
    )
    assert refused.status_code == 403
    # A reader coming back with their cookie keeps their secret: the page's token is theirs.
    again = second.get("/passwordreset/")
    assert renders.times == 1
    (token_again,) = set(TOKEN.findall(again.content.decode()))
    assert (
        "The automatic check did not finish"
        in second.post(
            "/passwordreset/",
            {"username": "rita", "altcha": "x", "csrfmiddlewaretoken": token_again},
        ).content.decode()
    )


def test_readers_with_more_than_a_csrf_or_language_cookie_get_the_whole_stack(monkeypatch):
    renders, early = CountingRenders(monkeypatch), CountingEarlyAnswers(monkeypatch)
    Client().get("/passwordreset/")
    Client().get("/passwordreset/")
    assert (renders.times, early.times) == (1, 1)
    for cookies in ({"sessionid": "anything"}, {"messages": "x"}, {"other": "1"}):
        reader = Client()
        for name, value in cookies.items():
            reader.cookies[name] = value
        assert reader.get("/passwordreset/").status_code == 200
    assert (renders.times, early.times) == (4, 1)  # each rendered through the whole stack
    # A query string, even one that parses to nothing: the page is rendered for the reader.
    assert "?&amp;" in Client().get("/passwordreset/?&").content.decode()
    assert early.times == 1


def test_the_early_answer_checks_the_host(monkeypatch):
    early = CountingEarlyAnswers(monkeypatch)
    Client().get("/passwordreset/")
    assert Client().get("/passwordreset/", HTTP_HOST="localhost").status_code == 200
    assert early.times == 1  # another allowed host is answered early
    refused = Client().get("/passwordreset/", HTTP_HOST="attacker.example")
    assert refused.status_code == 400


def test_the_early_answer_is_in_the_readers_language(monkeypatch):
    from django.conf import settings

    renders = CountingRenders(monkeypatch)
    english = Client().get("/passwordreset/")
    by_cookie = Client()
    by_cookie.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = by_cookie.get("/passwordreset/")
    french_again = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/passwordreset/")
    assert renders.times == 2  # English, then French; the second French reader came early
    assert '<html lang="fr"' in french.content.decode() and french["Content-Language"] == "fr"
    assert without_tokens(french.content.decode()) == without_tokens(french_again.content.decode())
    assert french_again["Content-Language"] == "fr" and english["Content-Language"] == "en"


def test_the_early_answer_is_counted_under_its_view():
    from sspr_site.metrics import REQUESTS

    def served() -> float:
        return REQUESTS.labels("passwordreset:start", "get", "200")._value.get()

    Client().get("/passwordreset/")
    before = served()
    Client().get("/passwordreset/")
    Client().get("/passwordreset/")
    assert served() == before + 2


def test_a_refused_host_is_told_in_the_readers_language():
    Client(HTTP_ACCEPT_LANGUAGE="de").get("/passwordreset/")  # kept in German
    Client().get("/passwordreset/")  # the last answer before was in English
    refused = Client(HTTP_ACCEPT_LANGUAGE="de").get("/passwordreset/", HTTP_HOST="bad.example")
    assert refused.status_code == 400
    assert '<html lang="de"' in refused.content.decode()
