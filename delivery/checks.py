"""The queue's part of /readyz (docs/security.md, "Messages").

- `queue`: its Redis answers a PING within the probe's timeout;
- `worker`: at least one RQ worker listens on the queue. A worker is in RQ's registry while
  its key lives, and its heartbeat keeps the key alive: a worker that stopped cleanly leaves
  at once, one that was killed when its heartbeat lapses (RQ's worker TTL);
- `backlog`: the oldest waiting message has waited no longer than SSPR_DELIVERY_DUE_SECONDS,
  the same bound after which a code page tells the person it has not gone out.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from django.conf import settings
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job

from sspr_site.health import register

from .conf import app_settings
from .outbox import QUEUE_NAME, uses_queue
from .tracking import due_seconds

# The probe's own client, with the probe's short timeouts, made once per process and kept for
# the next probe: a new client each time cost a TCP connection, its handshake and about 7 ms of
# CPU (redis-py looks its own version up for every connection it opens), every few seconds on
# every host. A connection that broke is replaced by redis-py on the next probe.
_probe: tuple[tuple[str, float], redis.Redis] | None = None


def probe_client() -> redis.Redis:
    global _probe
    where = (settings.RQ_QUEUES[QUEUE_NAME]["URL"], float(app_settings.CACHE_TIMEOUT))
    if _probe is None or _probe[0] != where:
        if _probe is not None:
            _probe[1].close()
        client = redis.Redis.from_url(
            where[0], socket_timeout=where[1], socket_connect_timeout=where[1]
        )
        _probe = (where, client)
    return _probe[1]


@register("queue")
def check_queue() -> dict[str, str] | None:
    if not uses_queue():
        return None  # messages are sent in process: nothing else to reach
    client = probe_client()
    if not client.ping():
        raise ConnectionError("no PONG")
    queue = Queue(QUEUE_NAME, connection=client)
    return {"worker": worker_status(queue), "backlog": backlog_status(queue)}


def worker_status(queue: Queue) -> str:
    return "ok" if Worker.all(queue=queue) else "no live worker"


def backlog_status(queue: Queue) -> str:
    oldest = _oldest_enqueued_at(queue)
    if oldest is None:
        return "ok"
    waited = (datetime.now(UTC) - oldest).total_seconds()
    if waited <= due_seconds():
        return "ok"
    return f"oldest message waiting {int(waited)} s"


def _oldest_enqueued_at(queue: Queue) -> datetime | None:
    # The queue is a list in arrival order: its head is the job that has waited longest.
    for job_id in queue.get_job_ids(0, 5):
        try:
            enqueued_at = Job.fetch(job_id, connection=queue.connection).enqueued_at
        except NoSuchJobError:
            continue  # deleted meanwhile
        if enqueued_at is not None:
            return enqueued_at if enqueued_at.tzinfo else enqueued_at.replace(tzinfo=UTC)
    return None
