"""A page that reads the same for everyone, rendered once per language and kept by the process.

The reset portal's first page is what a crowd, or a flood, reaches first; rendering its layout
and form was four fifths of its cost (docs/performance.md, "Under load"). When nothing on it
belongs to the reader, `render_kept` renders it once per language, path and version (the
caller names what else the page shows, such as the policy's last change), with a stand-in where
the CSRF token goes, and answers each request with that text and the request's own token in
place of the stand-in. Anything else gets a fresh render: someone signed in, a message waiting
to be shown, a query string, or a page the caller says is not the same for everyone.

Once a kept page has gone out whole, `KeptPageMiddleware` answers the next plain reader of it
(a GET with no query string and no cookie but the CSRF and language ones: nobody signed in,
nothing in a session) before the middleware below it run: the same text and headers, the
reader's own token and CSRF cookie, the host checked as `CommonMiddleware` checks it. What the
middleware above it do (the probes, metrics, the request log, the security headers) they do
for every answer. The page's version is asked again at most once a second (`STILL_CURRENT`):
asking reads the policy from the shared cache, which was a quarter of each answer's cost, so a
change made on another host reaches this host's kept page within a second (one made in this
process, at once: the caller drops its pages with `forget_all`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.contrib.messages import get_messages
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import ResolverMatch
from django.utils import translation
from django.utils.http import http_date

# Long enough that no page holds it by chance; the same in every page this process keeps.
TOKEN_STAND_IN = "kept-page-token-" + secrets.token_hex(16)
# Languages × kept pages × versions still in use: a handful; the oldest go first.
MOST = 64
# Seconds an answer's version is taken as current before it is asked again (see above).
STILL_CURRENT = 1.0
# The clock those seconds are read from (tests move it).
clock = time.monotonic

_kept: OrderedDict[tuple, str] = OrderedDict()
# Whole answers the middleware gives, by path and language (bounded: only kept pages, only the
# site's languages).
_answers: dict[tuple[str, str], _Answer] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class _Kept:
    """What `render_kept` tells the middleware about the page it answered with."""

    path: str
    language: str
    version: Hashable
    version_of: Callable[[], Hashable]
    text: str
    asked: float  # when `version` was read (clock)


@dataclass
class _Answer:
    kept: _Kept
    headers: tuple[tuple[str, str], ...]
    match: ResolverMatch
    asked: float  # when the version was last found current (clock)

    def current(self) -> bool:
        now = clock()
        if now - self.asked < STILL_CURRENT:
            return True
        if self.kept.version_of() != self.kept.version:
            return False
        self.asked = now
        return True


def same_for_everyone(request: HttpRequest) -> bool:
    """Nothing of the reader's would be on the page: nobody signed in, no message waiting, no
    query string."""
    return (
        request.method == "GET"
        # The raw query string: "?&&" parses to nothing, yet the page would show it.
        and not request.META.get("QUERY_STRING")
        and not request.user.is_authenticated
        and not len(get_messages(request))
    )


def render_kept(
    request: HttpRequest,
    template_name: str,
    context: dict,
    *,
    version_of: Callable[[], Hashable],
    kept: bool = True,
) -> HttpResponse:
    """`render(request, template_name, context)`, from the kept text when the page is the same
    for everyone (`kept` and `same_for_everyone`). `version_of()` changes when anything the
    page shows besides its words does; it is asked here, and again before the middleware's
    answers once `STILL_CURRENT` seconds have passed since it was last asked."""
    if not (kept and same_for_everyone(request)):
        return render(request, template_name, context)
    asked = clock()
    version = version_of()
    language = translation.get_language()
    key = (template_name, language, request.path, version)
    with _lock:
        text = _kept.get(key)
        if text is not None:
            _kept.move_to_end(key)
    if text is None:
        text = render_to_string(template_name, {**context, "csrf_token": TOKEN_STAND_IN}, request)
        with _lock:
            _kept[key] = text
            while len(_kept) > MOST:
                _kept.popitem(last=False)
    response = HttpResponse(text.replace(TOKEN_STAND_IN, get_token(request)))
    response.kept_page = _Kept(request.path, language, version, version_of, text, asked)
    return response


def _plain_reader(request: HttpRequest) -> bool:
    """A GET with no query string and no cookie but the CSRF and language ones: no session, so
    nobody signed in, no message waiting and no attempt under way."""
    return (
        request.method == "GET"
        and not request.META.get("QUERY_STRING")
        and request.COOKIES.keys() <= {settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME}
        and not is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0]
    )


class KeptPageMiddleware:
    """Answer a plain reader of a kept page from what the whole stack answered before (see the
    module's text). Placed below the probes, metrics, request log and security headers, above
    the sessions, locale, CSRF and the rest."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.common = CommonMiddleware(get_response)
        self.csrf = CsrfViewMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _plain_reader(request):
            return self.get_response(request)
        # The language LocaleMiddleware would choose (no language in the path: see above).
        language = translation.get_language_from_request(request)
        answer = _answers.get((request.path, language))
        if answer is not None and answer.current():
            # In the reader's language, as LocaleMiddleware would, for the error page too.
            translation.activate(language)
            request.LANGUAGE_CODE = language
            # The host checked (DisallowedHost is the 400 it is everywhere); a redirect the
            # common middleware would give is left to the whole stack.
            if self.common.process_request(request) is None:
                return self.answer(request, answer)
        response = self.get_response(request)
        kept = getattr(response, "kept_page", None)
        if (
            kept is not None
            and response.status_code == 200
            and (kept.path, kept.language) == (request.path, language)
            # Nothing set but the CSRF cookie, which each answer sets for its own reader.
            and response.cookies.keys() <= {settings.CSRF_COOKIE_NAME}
            and getattr(request, "resolver_match", None) is not None
        ):
            with _lock:
                _answers[(request.path, language)] = _Answer(
                    kept, tuple(response.headers.items()), request.resolver_match, kept.asked
                )
        return response

    def answer(self, request: HttpRequest, answer: _Answer) -> HttpResponse:
        self.csrf.process_request(request)  # the reader's CSRF cookie, if any
        response = HttpResponse(answer.kept.text.replace(TOKEN_STAND_IN, get_token(request)))
        for name, value in answer.headers:
            response.headers[name] = value
        if "Expires" in response.headers:
            response.headers["Expires"] = http_date()
        if "Content-Length" in response.headers:
            response.headers["Content-Length"] = str(len(response.content))
        # For the metrics and the request log, as if the URL had been resolved.
        request.resolver_match = answer.match
        return self.csrf.process_response(request, response)


def forget_all(**_signal) -> None:
    """Drop every kept page: a setting changed (in tests), and a page may read differently."""
    with _lock:
        _kept.clear()
        _answers.clear()


setting_changed.connect(forget_all, dispatch_uid="sspr_site.kept_pages.forget_all")
