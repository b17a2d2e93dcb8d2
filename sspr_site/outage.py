"""The "temporarily unavailable" page (README, "Several hosts").

When the database or the shared cache cannot be reached, a request fails with a connection
error wherever it happens to touch them, often outside the view (loading or saving the session).
Django then calls the 500 handler while the exception is still being handled; this handler
answers such failures with 503 and a page that says the service is temporarily unavailable
and that nothing was saved, and everything else with the usual 500 page. Neither shows a
traceback. The cluster's haproxy serves the same page (rendered by `unavailable_page`) when no
host is ready.
"""

from __future__ import annotations

import sys

from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

OUTAGES = (
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_outage(error: BaseException | None) -> bool:
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OUTAGES):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def unavailable_page() -> str:
    # Rendered without the request: the database and the cache may both be away.
    return render_to_string("503.html")


def server_error(request: HttpRequest) -> HttpResponse:
    if is_outage(sys.exc_info()[1]):
        response = HttpResponse(unavailable_page(), status=503)
        response["Retry-After"] = "30"
        return response
    return HttpResponse(render_to_string("500.html"), status=500)
