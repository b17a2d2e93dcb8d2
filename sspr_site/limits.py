"""Input no page can use, refused before it reaches a form or a query."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _


def _has_nul(query) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in query.lists()
    )


class RefuseNulMiddleware:
    """No field of any page may contain a NUL character: browsers cannot type one, PostgreSQL
    cannot store one, and a filter holding one would fail deep in a query. The request is
    answered 400 with a plain sentence, and nothing runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            body = render_to_string(
                "400.html",
                {
                    "message": _(
                        "The request contained a character that cannot be processed. Go back, "
                        "check what you typed and try again."
                    )
                },
                request=request,
            )
            return HttpResponse(body, status=400)
        return self.get_response(request)
