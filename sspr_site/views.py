from __future__ import annotations

import logging
import secrets

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("sspr.health")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report whether the database and the shared cache answer; 503 when one does not."""
    status = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        status["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"
        logger.warning("health: database unavailable: %s", type(exc).__name__)
        status["database"] = "unavailable"
    try:
        key, value = "sspr:healthz", secrets.token_hex(8)
        cache.set(key, value, timeout=10)
        status["cache"] = "ok" if cache.get(key) == value else "unavailable"
    except Exception as exc:
        logger.warning("health: cache unavailable: %s", type(exc).__name__)
        status["cache"] = "unavailable"
    healthy = all(value == "ok" for value in status.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **status}, status=200 if healthy else 503
    )
