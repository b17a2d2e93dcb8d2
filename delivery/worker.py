"""The message worker's class (settings.RQ["WORKER_CLASS"], so `manage.py rqworker` uses it).

RQ's default worker forks a fresh process for every job, and that fork, with the job's new
database connection, cost more CPU than the job itself: about 55 ms a message, two thirds of
a reset's cost in the worker (docs/performance.md, "The message worker"). This worker runs each
job in its own long-lived process instead, with a job's time limit still enforced (a signal
interrupts it). Around each job it does what Django does around a request: a database
connection that broke (PostgreSQL restarted) or is past its age is closed, and the next query
opens a new one, so a worker outlives a database restart. A connection that died while idle is
found by the health check before its first use (`conn_health_checks`, sspr_site/settings.py).

Its heartbeat (the worker's "still alive" stamp and the expiry of its keys, written before and
after every job) goes to Redis as one pipeline, not three commands each waiting for its answer:
the same writes, a round trip instead of three (docs/performance.md, "A fifteenth look").

Around each job RQ also writes what it wrote a moment before: a heartbeat before and after
waiting for a job, right after the one that followed the last job; the worker's state, "idle",
twice; a heartbeat of its own with each read of the suspension flag (`rq suspend`), before
every job; the job's own heartbeat after it returned, which only matters while a callback runs
(the site's jobs have none). Here a heartbeat that would give the keys no longer than they
already live (within FRESH_SECONDS) and a state that was written within FRESH_SECONDS are not
sent again; the suspension flag is read in the heartbeat that follows each job, in the same
round trip, and the check before the next job uses it, as RQ's own worker would have read it
there; a job without callbacks is not stamped after it returned: 9 round trips a job instead of
14, about a fifth less of the worker's CPU (docs/performance.md, "A sixteenth look";
tests/delivery/test_round_trips.py).

Every HELD_CHECK_SECONDS it also hands the queue the notices and reminders held in the
database while the queue could not be reached (delivery.outbox.release_held), and waits for a
job no longer than that at a time, so a held message leaves within about a minute of the queue
coming back even when nothing else is queued. RQ's own upkeep of its registries keeps its
interval.

The price: a job that crashes the process itself (a segmentation fault, the memory killer) now
takes the worker with it, where before only its fork died: run the worker under a service
manager that restarts it (`make serve` stops as a whole when its worker dies).
"""

from __future__ import annotations

import logging
import time

from django.db import close_old_connections
from rq.suspension import WORKERS_SUSPENDED
from rq.utils import now as utc_now
from rq.worker import SimpleWorker

# What was written this recently is not written again (seconds).
FRESH_SECONDS = 5
# How often the messages held while the queue was away are looked for (seconds).
HELD_CHECK_SECONDS = 60

logger = logging.getLogger("sspr.delivery")


class MessageWorker(SimpleWorker):
    _alive_until = 0.0  # until when (time.monotonic) the worker's keys live, as last written
    _state_written: tuple[str, float] | None = None  # the state last written, and when
    _suspended: bool | None = None  # the suspension flag, as read since the last job began

    _next_held_check = 0.0  # when (time.monotonic) to look for held messages next

    @property
    def dequeue_timeout(self) -> int:
        return min(HELD_CHECK_SECONDS, super().dequeue_timeout)

    @property
    def should_run_maintenance_tasks(self) -> bool:
        return time.monotonic() >= self._next_held_check or super().should_run_maintenance_tasks

    def run_maintenance_tasks(self):
        self._next_held_check = time.monotonic() + HELD_CHECK_SECONDS
        self.release_held()
        if super().should_run_maintenance_tasks:  # RQ's registries, at RQ's interval
            super().run_maintenance_tasks()

    def release_held(self) -> None:
        from .outbox import release_held

        close_old_connections()
        try:
            release_held()
        except Exception:  # noqa: BLE001 - the database or the queue away: look again later
            logger.warning("held messages not released yet", exc_info=True)
        finally:
            close_old_connections()

    def heartbeat(self, timeout=None, pipeline=None):
        timeout = timeout or self.worker_ttl + 60
        now = time.monotonic()
        if pipeline is not None:  # RQ's own pipeline: its commands go out with the others
            super().heartbeat(timeout, pipeline)
        elif self._alive_until - now >= timeout - FRESH_SECONDS:
            return None  # the keys already live that long
        else:
            with self.connection.pipeline(transaction=False) as beat:
                super().heartbeat(timeout, beat)
                beat.exists(WORKERS_SUSPENDED)  # for the check before the next job
                self._suspended = bool(beat.execute()[-1])
        self._alive_until = now + timeout
        return None

    def set_state(self, state, pipeline=None):
        now = time.monotonic()
        if pipeline is None and self._state_written is not None:
            written, at = self._state_written
            if written == state and now - at < FRESH_SECONDS:
                self._state = state
                return
        super().set_state(state, pipeline)
        self._state_written = (state, now)

    def check_for_suspension(self, burst):
        known, self._suspended = self._suspended, None
        if known is False:
            return  # read since the last job ended, in the heartbeat that followed it
        super().check_for_suspension(burst)

    def handle_execution_ended(self, job, queue, heartbeat_ttl):
        if job._success_callback_name or job._failure_callback_name:
            return super().handle_execution_ended(job, queue, heartbeat_ttl)
        job.ended_at = utc_now()  # as RQ does; its stamp is for a callback's time
        return None

    def execute_job(self, job, queue):
        self._suspended = None  # a flag read before the job says nothing about after it
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()
