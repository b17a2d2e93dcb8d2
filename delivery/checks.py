"""The queue's part of /readyz: its Redis answers a PING within the probe's timeout."""

from __future__ import annotations

import redis
from django.conf import settings

from sspr_site.health import register

from .outbox import QUEUE_NAME, uses_queue


@register("queue")
def check_queue() -> None:
    if not uses_queue():
        return  # messages are sent in process: nothing else to reach
    timeout = float(getattr(settings, "SSPR_CACHE_TIMEOUT", 1))
    client = redis.Redis.from_url(
        settings.RQ_QUEUES[QUEUE_NAME]["URL"],
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    try:
        if not client.ping():
            raise ConnectionError("no PONG")
    finally:
        client.close()
