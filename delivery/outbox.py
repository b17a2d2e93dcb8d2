"""Messages leave from a queue (docs/security.md, "Messages").

`send()` hands a message to the RQ worker through Redis (SSPR_DELIVERY=queue, the default when
REDIS_URL is set): the request answers in the same time whether or not a message was queued,
and a slow or failing gateway is retried by the worker, not by the person waiting. Without
Redis (development), messages are sent by the same process after the response has gone out.

`later()` runs any job function the same way; the reset portal uses it so that whether a
destination matched is decided off the request path.

A job queued with `track=` (and every code's message, tracked by its code channel) has a
delivery record (delivery.tracking): queued, then sent or failed, so the page can say whether
the message has left and, after `SSPR_DELIVERY_DUE_SECONDS`, that it has not.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from cryptography.fernet import InvalidToken
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.module_loading import import_string
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from audit.conf import app_settings as audit_settings
from sspr_site.metrics import observe_delivery

from . import tracking
from .conf import app_settings
from .connection import QUEUE_NAME as QUEUE_NAME  # named here too (delivery.checks, tests)
from .connection import queue
from .sealing import seal, unseal

logger = logging.getLogger("sspr.delivery")

# Sealed job arguments are refused after this long: a code is worthless by then anyway.
SEALED_MAX_AGE = 24 * 3600

_deferred: contextvars.ContextVar[list[tuple[str, dict, str]] | None] = contextvars.ContextVar(
    "sspr_deferred_jobs", default=None
)
# The delivery record of the job running now, and whether it gave up (see failed()).
_running: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "sspr_running_job", default=None
)


@dataclass(frozen=True)
class Message:
    """One text message, voice call or email. `on_failure` (a dotted path) is called with the
    message and the problem when it cannot be delivered."""

    channel: str  # "sms", "voice" or "email"
    to: str
    body: str
    subject: str = ""
    language: str = "en"
    purpose: str = "notice"  # "code", "notice" or "reminder"
    user_id: int | None = None
    masked_to: str = ""
    on_failure: str = ""
    context: dict[str, Any] = field(default_factory=dict)


def uses_queue() -> bool:
    return app_settings.DELIVERY == "queue"


def send(message: Message) -> None:
    """Deliver `message` off the request path. A code's message is tracked by its code
    channel (the `code_id` its failure hook also uses), so its page can say where it is.

    Written by a job the worker is running already (the reset portal's code job), the message's
    first try is made by that job once its own work is done (so the audit log reads the code
    sent, then any failure), not after another pass through the queue: a pass costs the worker
    more than the send itself (docs/performance.md, "A seventh round"). If that try meets
    anything but a delivery or a permanent refusal, the queue makes the next tries at the times
    it would have (delivery.jobs.deliver_first).

    A notice or reminder the queue's Redis cannot take is held in the database instead (_hold):
    what it tells of was saved before it was written. One written inside a transaction is
    written to the database with it and queued once it commits, so a change taken back never
    has its notice sent. A code's message is not held: the failure reaches its page."""
    code_id = message.context.get("code_id")
    track = tracking.code_parts(code_id) if code_id else ()
    running = _running.get()
    if uses_queue() and running is not None:
        running["then"].append((message, track))
        return
    holds = message.purpose != "code" and not code_id
    if holds and uses_queue() and connection.in_atomic_block:
        transaction.on_commit(partial(release_held, only=_hold(message)))
        return
    try:
        later("delivery.jobs.deliver", track=track, message=asdict(message))
    except (RedisConnectionError, RedisTimeoutError):
        if not holds:
            raise  # its page says the code did not go (the "temporarily unavailable" page)
        # An answer that did not come in time may still have been taken: then the notice
        # goes out twice, which is better than not at all.
        _hold(message)
        logger.warning("queue unreachable: message held channel=%s", message.channel)


# A held message older than this is given up (an undelivered message the helpdesk sees): the
# "That wasn't me" link it may carry lasts as long (methods/not_me.py).
HELD_MAX_DAYS = 7


def _hold(message: Message) -> int:
    """Keep a notice or reminder, sealed, in the database until it can be queued (release_held).
    What it tells of was saved before it was written, so the page goes on to say so, and the
    message goes out once the queue is back, not never."""
    from .models import HeldMessage

    return HeldMessage.objects.create(
        user_id=message.user_id,
        channel=message.channel,
        purpose=message.purpose,
        destination=message.masked_to,
        sealed=seal(asdict(message)),
    ).pk


def release_held(limit: int = 200, only: int | None = None) -> int:
    """Hand held messages to the queue, oldest first (`only`: that one); how many. Each is
    locked, queued and taken out in one transaction, and one another worker holds is passed
    over, so two workers releasing at once queue it once; one the queue refuses again stays
    held. One that cannot be opened (sealed under an earlier secret key) or is older than
    HELD_MAX_DAYS is given up as any message is (delivery.jobs.give_up: an undelivered message
    the helpdesk sees, and its event), so it never blocks the rest."""
    # The worker's side (which imports this module) gives messages up, with its problems.
    from .jobs import DeliveryProblem, give_up
    from .models import HeldMessage

    rows = HeldMessage.objects.order_by("pk")
    if only is not None:
        rows = rows.filter(pk=only)
    too_old = timezone.now() - timedelta(days=HELD_MAX_DAYS)
    released = 0
    for pk in rows.values_list("pk", flat=True)[:limit]:
        try:
            with transaction.atomic():
                held = HeldMessage.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
                if held is None:
                    continue  # another worker has it, or had it
                try:
                    message = unseal(held.sealed) if held.created_at >= too_old else None
                except InvalidToken:
                    message = None
                if message is None:
                    # What the row shows of it (never its text, its address masked).
                    shown = Message(
                        channel=held.channel,
                        to="",
                        body="",
                        purpose=held.purpose,
                        user_id=held.user_id,
                        masked_to=held.destination,
                    )
                    give_up(shown, DeliveryProblem.UNAVAILABLE, attempts=0)
                    logger.warning("held message given up channel=%s", held.channel)
                else:
                    later("delivery.jobs.deliver", message=message)
                    released += 1
                held.delete()
        except Exception:
            if only is None:
                raise  # the worker looks again later
            # Right after the commit of what it tells of: a worker queues it later.
            logger.warning("message held until a worker queues it", exc_info=True)
            return released
    if released and only is None:
        logger.info("held messages queued count=%d", released)
    return released


def _send_in_this_job(message: Message, track: tuple) -> None:
    delivery_id = tracking.queued(track) if track else ""
    data = asdict(message)
    try:
        run("delivery.jobs.deliver_first", {"message": data}, delivery_id)
    except Exception as exc:  # noqa: BLE001 - whatever stopped the first try, the queue tries again
        logger.info("first try deferred to the queue problem=%s", getattr(exc, "problem", "error"))
        intervals = list(audit_settings.DELIVERY_RETRY_INTERVALS)
        _enqueue(
            "delivery.jobs.deliver",
            {"message": data, "tried": 1},
            delivery_id,
            after=intervals[0] if intervals else 0,
            intervals=intervals[1:],
        )


def later(function: str, *, track: tuple = (), **kwargs: Any) -> None:
    """Run `function(**kwargs)` in the worker, or in this process after the response.
    With `track`, the job's delivery record is found again by `tracking.lookup(track)`."""
    if uses_queue():
        # The job's record and the job itself go to Redis in one round trip.
        try:
            with queue().connection.pipeline() as pipe:
                pipe.multi()  # as RQ wants a pipeline it is given: one transaction
                delivery_id = tracking.queued(track, pipe) if track else ""
                _enqueue(function, kwargs, delivery_id, pipeline=pipe)
                pipe.execute()
        except ResponseError:
            if not track:
                raise
            # Redis refused a command as it was queued (an access rule that leaves out the
            # records, say), so the transaction did nothing. Tracking must never stop a
            # message from going out: the job goes without its record.
            logger.warning("delivery record not written", exc_info=True)
            _enqueue(function, kwargs, "")
        return
    delivery_id = tracking.queued(track) if track else ""
    pending = _deferred.get()
    if pending is None:
        # Not inside a request (a management command, a worker): run now.
        run(function, kwargs, delivery_id)
    else:
        pending.append((function, kwargs, delivery_id))


def _enqueue(
    function: str,
    kwargs: dict,
    delivery_id: str = "",
    *,
    after: int = 0,
    intervals: list[int] | None = None,
    pipeline=None,
) -> None:
    """Queue one job, tried again at `intervals` (the setting's unless given) while it raises;
    with `after`, its first try waits that many seconds (the worker's scheduler runs it).
    With `pipeline` (not with `after`), the job is written as part of it: the caller sends it."""
    from rq import Retry

    if intervals is None:
        intervals = list(audit_settings.DELIVERY_RETRY_INTERVALS)
    where = queue()
    put = partial(where.enqueue_in, timedelta(seconds=after)) if after else where.enqueue
    if pipeline is not None:
        put = partial(put, pipeline=pipeline)
    put(
        "delivery.jobs.run",
        function,
        seal(kwargs),
        delivery_id,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        # A sent job expires a second later, by Redis itself: deleting it at once (0) made RQ
        # read it back and take it out of each registry, about 1-2 ms of the worker's CPU a
        # message (docs/performance.md). It holds its message sealed, as while it waited.
        result_ttl=1,
        failure_ttl=7 * 24 * 3600,
        job_timeout=120,
    )


def run(function: str, kwargs: dict, delivery_id: str = "") -> None:
    """Run one job. Once it returns, its message was sent (or, for another job, it ran),
    unless it gave up; an exception leaves it queued for the queue's next try."""
    job: Callable[..., None] = import_string(function)
    state: dict[str, Any] = {"failed": False, "then": []}
    token = _running.set(state)
    try:
        job(**kwargs)
    finally:
        _running.reset(token)
        # The messages it wrote, each tried once now (send); also when the job failed after
        # writing them, as a message it had queued would have gone.
        for message, track in state["then"]:
            _send_in_this_job(message, track)
    tracking.finished(delivery_id, tracking.FAILED if state["failed"] else tracking.SENT)
    observe_delivery(function, kwargs, failed=state["failed"])


def failed() -> None:
    """The running job gave up on its message (delivery.jobs.give_up)."""
    state = _running.get()
    if state is not None:
        state["failed"] = True


def _run_all(jobs: list[tuple[str, dict, str]]) -> None:
    for function, kwargs, delivery_id in jobs:
        try:
            run(function, kwargs, delivery_id)
        except Exception:  # one failing message must not stop the others
            logger.exception("deferred job failed function=%s", function)


class DeferredDeliveryMiddleware:
    """Without a queue: collect the request's jobs and run them once the response is sent."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if uses_queue():
            return self.get_response(request)
        jobs: list[tuple[str, dict, str]] = []
        token = _deferred.set(jobs)
        try:
            response = self.get_response(request)
        finally:
            _deferred.reset(token)
        if jobs:
            # The server calls close() after the last byte went out.
            response._resource_closers.append(partial(_run_all, jobs))
        return response
