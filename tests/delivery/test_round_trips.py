"""What the queue costs in round trips to Redis (docs/performance.md, "A fifteenth look" and "A
sixteenth look"): a tracked message is queued with its record in one, the worker's heartbeat is
one, its update of a record one that keeps the record's time of queueing, and a page's read of a
record one; a job costs the worker nine in all, with its keys kept alive, its state right and a
suspension seen before the next job, as RQ's own worker sees it. The records read the same as
before."""

from __future__ import annotations

import json
import time

import pytest
from redis.connection import AbstractConnection
from rq import Queue

from delivery import outbox, tracking
from delivery.connection import queue_connection
from delivery.worker import MessageWorker

# What the jobs below saw, each as it ran (the worker runs them in this process), and what the
# worker had sent to Redis by then (the `seen` fixture's count).
SEEN: list[dict] = []
SEEN_SENT: list | None = None

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def round_trips(monkeypatch):
    """Counts what is sent to Redis: one send a round trip (a pipeline is one send)."""
    sent = []
    send = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent.append(command)
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return sent


def test_a_tracked_message_and_its_record_are_queued_in_one_round_trip(queued, round_trips):
    outbox.later("delivery.jobs.deliver", track=("t", 1), message={"channel": "sms"})  # warm-up
    round_trips.clear()
    outbox.later("delivery.jobs.deliver", track=("t", 2), message={"channel": "sms"})
    assert len(round_trips) == 1
    assert queued.llen("rq:queue:sspr") == 2
    delivery = tracking.lookup(("t", 2))
    assert delivery.status == tracking.QUEUED and not delivery.overdue


def test_the_workers_update_keeps_the_time_of_queueing(queued, round_trips):
    outbox.later("delivery.jobs.deliver", track=("t", 3), message={"channel": "sms"})
    (key,) = queued.keys("sspr:delivery:job:*")
    delivery_id = key.decode().rsplit(":", 1)[1]
    written = json.loads(queued.get(key))
    tracking.finished(delivery_id, tracking.SENT)  # Redis learns the script (once)
    round_trips.clear()
    tracking.finished(delivery_id, tracking.FAILED)
    assert len(round_trips) == 1
    record = json.loads(queued.get(key))
    assert record["status"] == "failed"
    assert record["queued_at"] == written["queued_at"]
    assert record["finished_at"] >= written["queued_at"]
    assert 0 < queued.ttl(key) <= tracking.RECORD_SECONDS
    round_trips.clear()
    delivery = tracking.lookup(("t", 3))
    assert len(round_trips) == 1
    assert delivery.status == tracking.FAILED and not delivery.sent
    assert delivery.queued_at.timestamp() == pytest.approx(written["queued_at"])
    assert delivery.finished_at.timestamp() == pytest.approx(record["finished_at"])


def test_a_record_gone_reads_as_none_and_is_written_again_by_the_update(queued):
    assert tracking.lookup(("t", 4)) is None  # never queued
    outbox.later("delivery.jobs.deliver", track=("t", 4), message={"channel": "sms"})
    (key,) = queued.keys("sspr:delivery:job:*")
    queued.delete(key)
    assert tracking.lookup(("t", 4)) is None  # the reference names a record that ended
    tracking.finished(key.decode().rsplit(":", 1)[1], tracking.SENT)
    assert tracking.lookup(("t", 4)).sent


def test_the_workers_heartbeat_is_one_round_trip(queued, round_trips):
    worker = MessageWorker([Queue("sspr", connection=queued)], connection=queued)
    worker.register_birth()
    try:
        round_trips.clear()
        worker.heartbeat(100)
        assert len(round_trips) == 1
        assert queued.hget(worker.key, "last_heartbeat")
        assert 90 < queued.ttl(worker.key) <= 100
        queued.sadd(worker.executions_key, "a job")
        worker.heartbeat(200)
        assert 190 < queued.ttl(worker.key) <= 200
        assert 190 < queued.ttl(worker.executions_key) <= 200
    finally:
        worker.register_death()


def test_a_record_redis_refuses_does_not_stop_the_message(queued, monkeypatch, caplog):
    """Redis refuses a command as the transaction is queued (an access rule that leaves out
    the records, say): the transaction does nothing, and the job is queued without its record."""
    written = tracking.queued

    def refused(parts, pipe=None):
        if pipe is not None:
            pipe.execute_command("SSPR-NO-SUCH-COMMAND")
        return written(parts, pipe)

    monkeypatch.setattr(tracking, "queued", refused)
    outbox.later("delivery.jobs.deliver", track=("t", 5), message={"channel": "sms"})
    assert queued.llen("rq:queue:sspr") == 1
    assert queued.keys("sspr:delivery:*") == []
    assert tracking.lookup(("t", 5)) is None
    assert "delivery record not written" in caplog.text


def look() -> None:
    """A job: what the worker had sent so far, and its state and keys as it runs."""
    client = queue_connection()
    (key,) = [k for k in client.keys("rq:worker:*") if not k.endswith(b":executions")]
    SEEN.append(
        {
            "sent": len(SEEN_SENT) if SEEN_SENT is not None else None,
            "state": client.hget(key, "state"),
            "ttl": client.ttl(key),
        }
    )


def suspend_workers(*, wait: float = 0) -> None:
    """A job: `rq suspend`, then `wait` seconds before it returns."""
    from rq.suspension import suspend

    suspend(queue_connection())
    time.sleep(wait)


@pytest.fixture
def seen(round_trips):
    global SEEN_SENT
    SEEN.clear()
    SEEN_SENT = round_trips
    yield SEEN
    SEEN_SENT = None


def test_a_job_costs_the_worker_nine_round_trips_and_keeps_it_alive(queued, seen):
    for _ in range(6):
        outbox.later("tests.delivery.test_round_trips.look")
    queue = Queue("sspr", connection=queued)
    worker = MessageWorker([queue], connection=queued)
    assert worker.work(burst=True)
    assert len(seen) == 6 and queued.llen("rq:queue:sspr") == 0
    # From one job to the next: the worker's round trips, and the three reads of the job itself.
    each = [
        after["sent"] - before["sent"] - 3 for before, after in zip(seen, seen[1:], strict=False)
    ]
    assert max(each) <= 9, each  # 14 with RQ's own worker
    for job in seen:
        assert job["state"] == b"busy"
        # Each job's own heartbeat: its time limit and a minute.
        assert 170 < job["ttl"] <= 180


def test_an_idle_worker_keeps_its_keys_alive_as_long_as_it_waits(queued):
    outbox.later("logging.debug", msg="a job")
    queue = Queue("sspr", connection=queued)
    worker = MessageWorker([queue], connection=queued)
    worker.register_birth()
    try:
        job, where = worker.dequeue_job_and_maintain_ttl(timeout=1)
        worker.execute_job(job, where)
        worker.heartbeat()  # as RQ's loop does after each job
        # Past the job's own (shorter) heartbeat: as long as the worker may wait for the next.
        assert queued.ttl(worker.key) > worker.worker_ttl
        assert queued.hget(worker.key, "state") == b"idle"
        assert worker.dequeue_job_and_maintain_ttl(timeout=1, max_idle_time=1) is None
        assert queued.ttl(worker.key) > worker.worker_ttl
        assert queued.ttl(worker.executions_key) in (-2, *range(worker.worker_ttl, 10**4))
    finally:
        worker.register_death()


@pytest.mark.parametrize("wait", [0, 0.3])
def test_a_suspension_stops_the_worker_before_its_next_job(queued, wait):
    """As RQ's own worker: `rq suspend` while a job runs, and no other job starts, however
    soon the job returns (the flag is read in the heartbeat that follows it)."""
    outbox.later("logging.debug", msg="before")
    outbox.later("tests.delivery.test_round_trips.suspend_workers", wait=wait)
    outbox.later("logging.debug", msg="not yet")
    worker = MessageWorker([Queue("sspr", connection=queued)], connection=queued)
    worker.work(burst=True)  # a suspended worker in burst mode stops
    assert queued.llen("rq:queue:sspr") == 1  # the last job waits for `rq resume`
    from rq.suspension import resume

    resume(queued)
    MessageWorker([Queue("sspr", connection=queued)], connection=queued).work(burst=True)
    assert queued.llen("rq:queue:sspr") == 0
