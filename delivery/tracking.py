"""Whether a message has left yet (docs/security.md, "Messages").

A page that asked for a message says only what is true: "on its way" while the job waits,
"sent" once the worker handed it to the gateway, and — when it has waited longer than
`SSPR_DELIVERY_DUE_SECONDS` (2 minutes by default) — that it has not gone out, with another
way forward. For that, each tracked job has a small record: its status (queued, sent, failed)
and its times, found through a keyed hash of what the page knows the job by (a code's channel,
a reset attempt). A record never holds a destination, a text or a code.

Two keys per job, so a job that finishes late never marks a newer one: the reference points to
the latest job's id, and only that id's record changes status. In queue mode the records live
in the queue's Redis, beside the jobs, which the web processes and the worker always share;
without a queue (development), in the shared cache.

In the queue's Redis each step is one round trip (docs/performance.md, "A fifteenth look"): a
job's record is written in the transaction that queues the job (should Redis refuse the record,
the job is queued without it: delivery.outbox.later); the worker's update keeps the
record's time of queueing by a small script, not a read and then a write; and a page reads the
reference and the record it points to by another script.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.cache import caches
from django.utils import timezone
from django.utils.crypto import salted_hmac

from sspr_site.redis_cache import RedisScript

from .conf import app_settings

logger = logging.getLogger("sspr.delivery")

QUEUED, SENT, FAILED = "queued", "sent", "failed"
# A record outlives any code it could speak of (10 minutes) and any sealed job (24 hours).
RECORD_SECONDS = 24 * 3600
PREFIX = "sspr:delivery:"


def due_seconds() -> int:
    return int(app_settings.DELIVERY_DUE_SECONDS)


@dataclass(frozen=True)
class Delivery:
    status: str
    queued_at: datetime
    finished_at: datetime | None = None

    @property
    def sent(self) -> bool:
        return self.status == SENT

    @property
    def overdue(self) -> bool:
        """Still waiting after the bound: the person should hear it has not gone out."""
        waited = timezone.now() - self.queued_at
        return self.status == QUEUED and waited > timedelta(seconds=due_seconds())

    @property
    def due_minutes(self) -> int:
        return max(1, math.ceil(due_seconds() / 60))


def reference(*parts: object) -> str:
    """What a page knows a job by, as a keyed hash: the store links no attempt or account."""
    value = "|".join(str(part) for part in parts)
    return salted_hmac("delivery.tracking", value, algorithm="sha256").hexdigest()


def code_parts(code_id: int) -> tuple[str, int]:
    """A code's message is tracked by its code channel (methods.VerificationCode): the latest
    message to it is the one carrying the live code."""
    return ("code", code_id)


class _Store:
    """The queue's Redis in queue mode, else the default cache."""

    def __init__(self) -> None:
        if app_settings.DELIVERY == "queue":
            from .connection import queue_connection

            self.redis = queue_connection()
        else:
            self.redis = None

    def get(self, key: str) -> str | None:
        if self.redis is None:
            return caches["default"].get(PREFIX + key)
        value = self.redis.get(PREFIX + key)
        return value.decode() if isinstance(value, bytes) else value

    def set(self, values: dict[str, str], pipe=None) -> None:
        """Write `values`; with `pipe` (queue mode), as part of that pipeline, which the caller
        sends."""
        if self.redis is None:
            caches["default"].set_many(
                {PREFIX + key: value for key, value in values.items()}, RECORD_SECONDS
            )
            return
        if pipe is not None:
            for key, value in values.items():
                pipe.set(PREFIX + key, value, ex=RECORD_SECONDS)
            return
        with self.redis.pipeline() as own:
            self.set(values, own)
            own.execute()

    def finish(self, delivery_id: str, status: str, at: float) -> None:
        key = f"job:{delivery_id}"
        if self.redis is None:
            raw = self.get(key)
            queued_at = json.loads(raw)["queued_at"] if raw else at
            self.set({key: _record(status, queued_at, at)})
            return
        FINISH_SCRIPT(self.redis, [PREFIX + key], [status, repr(at), RECORD_SECONDS])

    def lookup(self, reference_key: str) -> str | None:
        """The record the reference points to, or None."""
        if self.redis is None:
            delivery_id = self.get(reference_key)
            return self.get(f"job:{delivery_id}") if delivery_id else None
        value = LOOKUP_SCRIPT(self.redis, [PREFIX + reference_key], [PREFIX + "job:"])
        return value.decode() if isinstance(value, bytes) else value


# The worker's update in one round trip: the record keeps its time of queueing, as written
# (a record gone or unreadable takes the time of the update). Returns nothing.
FINISH_SCRIPT = RedisScript("""
local queued = ARGV[2]
local raw = redis.call('GET', KEYS[1])
if raw then
  local found = string.match(raw, '"queued_at": ([-+.%deE]+)')
  if found then queued = found end
end
local record = '{"status": "' .. ARGV[1] .. '", "queued_at": ' .. queued
  .. ', "finished_at": ' .. ARGV[2] .. '}'
redis.call('SET', KEYS[1], record, 'EX', ARGV[3])
""")

# A page's read in one round trip: the reference, then the record it names (in the same
# Redis: the project runs one Redis, not a cluster of them).
LOOKUP_SCRIPT = RedisScript("""
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('GET', ARGV[1] .. id)
""")


def _record(status: str, queued_at: float, finished_at: float | None = None) -> str:
    return json.dumps({"status": status, "queued_at": queued_at, "finished_at": finished_at})


def queued(parts: tuple, pipe=None) -> str:
    """Record that a job for `parts` is about to be queued; return the job's delivery id.
    With `pipe` (queue mode), the record goes out with the pipeline that queues the job."""
    delivery_id = secrets.token_hex(16)
    try:
        _Store().set(
            {
                f"ref:{reference(*parts)}": delivery_id,
                f"job:{delivery_id}": _record(QUEUED, timezone.now().timestamp()),
            },
            pipe,
        )
    except Exception:  # tracking must never stop a message from going out
        logger.warning("delivery record not written", exc_info=True)
        return ""
    return delivery_id


def finished(delivery_id: str, status: str) -> None:
    """The worker is done with a job: it was sent (or, for another job, it ran), or failed."""
    if not delivery_id:
        return
    try:
        _Store().finish(delivery_id, status, timezone.now().timestamp())
    except Exception:
        logger.warning("delivery record not updated", exc_info=True)


def lookup(parts: tuple) -> Delivery | None:
    """The latest job for `parts`, or None when none is known (or the store cannot say)."""
    try:
        raw = _Store().lookup(f"ref:{reference(*parts)}")
    except Exception:
        logger.warning("delivery record not read", exc_info=True)
        return None
    if not raw:
        return None
    data = json.loads(raw)
    finished_at = data.get("finished_at")
    return Delivery(
        status=data["status"],
        queued_at=datetime.fromtimestamp(data["queued_at"], tz=UTC),
        finished_at=datetime.fromtimestamp(finished_at, tz=UTC) if finished_at else None,
    )
