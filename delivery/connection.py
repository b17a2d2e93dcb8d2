"""The queue's Redis client, one per process.

django-rq makes a new client, with its own connection pool, each time it is asked for a queue
or a connection: every message queued, and every delivery record read or written, opened a TCP
connection to Redis and introduced itself (HELLO) before its one command, about one new
connection a request under load. This client is made once and reused; redis-py opens new
connections by itself in a forked child (gunicorn's workers start from a loaded master).

It has the shared cache's timeouts (SSPR_CACHE_TIMEOUT): a Redis that hangs, rather than
refusing, fails the request that queues a message within a second instead of holding its web
worker (and any row it has locked) until the kernel gives up on the connection. The worker's
own client, which waits for jobs, is RQ's, with RQ's longer timeout.
"""

from __future__ import annotations

from django.core.signals import setting_changed
from django.dispatch import receiver

from .conf import app_settings

QUEUE_NAME = "sspr"

_client = None


def queue_connection():
    global _client
    if _client is None:
        import django_rq

        client = django_rq.get_connection(QUEUE_NAME)
        seconds = float(app_settings.CACHE_TIMEOUT)
        # Before the first connection is opened: every one the pool opens has them.
        client.connection_pool.connection_kwargs.update(
            socket_timeout=seconds, socket_connect_timeout=seconds
        )
        _client = client
    return _client


def queue():
    """The message queue, on the shared client."""
    import django_rq

    return django_rq.get_queue(QUEUE_NAME, connection=queue_connection())


@receiver(setting_changed, dispatch_uid="sspr_queue_connection")
def _forget(setting, **kwargs):
    global _client
    if setting in ("RQ_QUEUES", "SSPR_CACHE_TIMEOUT"):  # where the queue is, how long to wait
        _client = None
