"""A page that reads the same for everyone, rendered once per language and kept by the process.

The reset portal's first page is what a crowd, or a flood, reaches first; rendering its layout
and form was four fifths of its cost (docs/performance.md, "Under load"). When nothing on it
belongs to the reader, `render_kept` renders it once per language, path and version (the
caller names what else the page shows: the policy's last change), with a stand-in where the
CSRF token goes, and answers each request with that text and the request's own token in place
of the stand-in. Anything else gets a fresh render: someone signed in, a message waiting to be
shown, a query string, or a page the caller says is not the same for everyone.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable

from django.contrib.messages import get_messages
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation

# Long enough that no page holds it by chance; the same in every page this process keeps.
TOKEN_STAND_IN = "kept-page-token-" + secrets.token_hex(16)
# Languages × kept pages × versions still in use: a handful; the oldest go first.
MOST = 64

_kept: OrderedDict[tuple, str] = OrderedDict()
_lock = threading.Lock()


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
    version: Hashable,
    kept: bool = True,
) -> HttpResponse:
    """`render(request, template_name, context)`, from the kept text when the page is the same
    for everyone (`kept` and `same_for_everyone`). `version` changes when anything the page
    shows besides its words does."""
    if not (kept and same_for_everyone(request)):
        return render(request, template_name, context)
    key = (template_name, translation.get_language(), request.path, version)
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
    return HttpResponse(text.replace(TOKEN_STAND_IN, get_token(request)))


def forget_all(**_signal) -> None:
    """Drop every kept page: a setting changed (in tests), and a page may read differently."""
    with _lock:
        _kept.clear()


setting_changed.connect(forget_all, dispatch_uid="sspr_site.kept_pages.forget_all")
