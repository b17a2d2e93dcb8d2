"""What the queue costs in round trips to Redis (docs/performance.md, "A fifteenth look"): a
tracked message is queued with its record in one, the worker's heartbeat is one, its update of a
record one that keeps the record's time of queueing, and a page's read of a record one. The
records read the same as before."""

from __future__ import annotations

import json

import pytest
from redis.connection import AbstractConnection
from rq import Queue

from delivery import outbox, tracking
from delivery.worker import MessageWorker

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
