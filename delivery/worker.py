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

The price: a job that crashes the process itself (a segmentation fault, the memory killer) now
takes the worker with it, where before only its fork died: run the worker under a service
manager that restarts it (`make serve` stops as a whole when its worker dies).
"""

from __future__ import annotations

from django.db import close_old_connections
from rq.worker import SimpleWorker


class MessageWorker(SimpleWorker):
    def heartbeat(self, timeout=None, pipeline=None):
        if pipeline is not None:  # RQ's own pipeline: its commands go out with the others
            return super().heartbeat(timeout, pipeline)
        with self.connection.pipeline(transaction=False) as beat:
            super().heartbeat(timeout, beat)
            beat.execute()
        return None

    def execute_job(self, job, queue):
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()
