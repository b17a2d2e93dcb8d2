"""Liveness and readiness, answered before any other middleware.

`/healthz` says only that the process answers: a load balancer polls it and must not take a
server out because a dependency is slow. `/readyz` checks what a request needs (the database,
the shared cache, the message queue) with short timeouts, so a hung dependency answers 503
quickly instead of holding a worker. Neither is cached, and neither names versions or hosts.

They are answered here, ahead of the host check and the HTTPS redirect, because probes come
from the load balancer by address and over plain HTTP.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger("sspr.health")

# Readiness checks by name; other parts (the queue, the directory) add theirs with register().
# A check raises when its dependency cannot be reached (reported as "unavailable"); once it
# can, it may return further named results ("ok" or a short reason such as "no live worker"),
# so the body says which part is not ready. Reasons never carry hosts, names or secrets.
CHECKS: dict[str, Callable[[], dict[str, str] | None]] = {}


def register(name: str):
    def decorator(check: Callable[[], dict[str, str] | None]) -> Callable[[], dict | None]:
        CHECKS[name] = check
        return check

    return decorator


@register("database")
def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


@register("cache")
def check_cache() -> None:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # A read-only PING: concurrent probes cannot disturb each other or any real key.
        if not backend._cache.get_client(write=False).ping():
            raise ConnectionError("no PONG")
        return
    # A key of this probe's own, removed again: no two probes share a value.
    key = f"sspr:readyz:{secrets.token_hex(16)}"
    backend.set(key, "1", timeout=10)
    try:
        if backend.get(key) != "1":
            raise ConnectionError("value not read back")
    finally:
        backend.delete(key)


def readiness() -> tuple[bool, dict[str, str]]:
    status = {}
    for name, check in CHECKS.items():
        try:
            parts = check() or {}
            status[name] = "ok"
        except Exception as exc:  # any failure means "not ready"
            logger.warning("readiness: %s unavailable: %s", name, type(exc).__name__)
            status[name] = "unavailable"
            continue
        for part, result in parts.items():
            if result != "ok":
                logger.warning("readiness: %s not ready: %s", part, result)
            status[part] = result
    return all(value == "ok" for value in status.values()), status


def _answer(request: HttpRequest, ready: bool, body: dict) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        response: HttpResponse = HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    else:
        response = JsonResponse(body, status=200 if ready else 503)
    add_never_cache_headers(response)
    return response


class HealthMiddleware:
    """Answer /healthz and /readyz; pass everything else on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return _answer(request, True, {"status": "ok"})
        if request.path == "/readyz":
            ready, status = readiness()
            return _answer(request, ready, {"status": "ok" if ready else "unavailable", **status})
        return self.get_response(request)
