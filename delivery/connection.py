"""The queue's Redis client, one per process.

django-rq makes a new client, with its own connection pool, each time it is asked for a queue
or a connection: every message queued, and every delivery record read or written, opened a TCP
connection to Redis and introduced itself (HELLO) before its one command, about one new
connection a request under load. This client is made once and reused; redis-py opens new
connections by itself in a forked child (gunicorn's workers start from a loaded master).
"""

from __future__ import annotations

from django.core.signals import setting_changed
from django.dispatch import receiver

QUEUE_NAME = "sspr"

_client = None


def queue_connection():
    global _client
    if _client is None:
        import django_rq

        _client = django_rq.get_connection(QUEUE_NAME)
    return _client


def queue():
    """The message queue, on the shared client."""
    import django_rq

    return django_rq.get_queue(QUEUE_NAME, connection=queue_connection())


@receiver(setting_changed, dispatch_uid="sspr_queue_connection")
def _forget(setting, **kwargs):
    global _client
    if setting == "RQ_QUEUES":  # where the queue is (REDIS_URL is read into it by settings)
        _client = None
