"""One log line per request, and a request id in every answer (README, "Metrics, logs and the
audit stream").

Every answer carries `X-Request-ID`: the one a trusted proxy sent (SSPR_TRUSTED_PROXIES), when it
looks like an id, else a new random one, so a person's report, the proxy's log and this site's
log can be joined. Each request adds one line with its request id, view name, method, status,
duration, processor time and client address as resolved (sspr_site.network); with
SSPR_LOG_FORMAT=json every log line is one JSON object.

The line names the view, never the path, the query string or the referrer: links in messages
carry tokens in their path, and nothing secret is logged (docs/security.md §58). It is the only
line a request adds: gunicorn's own access log, which writes the path, is off
(sspr_site/gunicorn.conf.py).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .conf import app_settings
from .network import _address, _trusted, client_address, trusted_proxies

logger = logging.getLogger("sspr.request")

HEADER = "X-Request-ID"
_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id(request: HttpRequest) -> str:
    offered = request.META.get("HTTP_X_REQUEST_ID", "")
    if offered and _ID.match(offered):
        remote = _address(request.META.get("REMOTE_ADDR", ""))
        if remote is not None and _trusted(remote, trusted_proxies()):
            return offered
    return secrets.token_hex(16)


def _view_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.view_name if match else None) or "unresolved"


class PathsHidden(logging.Filter):
    """Django names the path in its own lines about a request ("Gone: /ssprsetup/not-me/…",
    "Forbidden (CSRF token missing.): …"), and a path may carry a token: the view's name is
    written in its place. Set on the handler, so that it covers every logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if path and isinstance(record.args, tuple):
            view = f"view {_view_of(request)}"
            record.args = tuple(view if arg == path else arg for arg in record.args)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and a request's fields."""

    FIELDS = ("request_id", "view", "method", "status", "duration_ms", "cpu_ms", "client")

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            # The exception's type only: its text may quote what a person typed.
            line["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
        return json.dumps(line, ensure_ascii=False)


def _client(request: HttpRequest) -> str | None:
    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


class RequestLogMiddleware:
    """Give each request an id, return it in X-Request-ID, log one line when it is answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id(request)
        started, cpu = time.perf_counter(), time.thread_time()
        response = self.get_response(request)
        response[HEADER] = request.request_id
        fields = {
            "request_id": request.request_id,
            "view": _view_of(request),
            "method": request.method,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            # The processor time this request's own thread spent (not waits for the database
            # or Redis): what sizing the hosts needs, page by page (docs/load.md, "Sizing").
            "cpu_ms": round((time.thread_time() - cpu) * 1000, 1),
            "client": _client(request),
        }
        if app_settings.LOG_FORMAT == "json":
            logger.info("request", extra=fields)
        elif not settings.DEBUG:  # the development server writes a line of its own
            logger.info(
                "request %(view)s %(method)s %(status)s %(duration_ms)sms cpu=%(cpu_ms)sms "
                "client=%(client)s id=%(request_id)s",
                fields,
                extra=fields,
            )
        return response
