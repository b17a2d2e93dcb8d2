"""The real queue for tests/delivery: RQ on the loopback Redis, real worker processes
(`manage.py rqworker`, as `make serve` runs it), the real twilio client against the loopback
Twilio stand-in, PostgreSQL shared by the test and the worker."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import redis
from rq import Queue, Worker

from tests.support.fake_twilio import FakeTwilio
from tests.support.worker import ROOT, SID, stop_worker, worker_env


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio(SID, "token").start()
    yield fake
    fake.stop()


@pytest.fixture
def queued(settings, twilio):
    """The web side queues; the Redis queue starts empty."""
    settings.SSPR_DELIVERY = "queue"
    settings.SSPR_PHONE_BACKEND = "twilio"
    settings.SSPR_CODE_RESEND_SECONDS = 0
    # Two retries, at once (production waits 10 s, 1 min, 5 min, 15 min between tries).
    settings.SSPR_DELIVERY_RETRY_INTERVALS = [0, 0]
    client = redis.Redis.from_url(settings.RQ_QUEUES["sspr"]["URL"])
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def worker(queued, twilio):
    """A worker process that keeps listening, as under `make serve`; stopped at the end."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "rqworker", "sspr"],
        cwd=ROOT,
        env=worker_env(twilio),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    queue = Queue("sspr", connection=queued)
    deadline = time.monotonic() + 60
    while not Worker.all(queue=queue):
        assert process.poll() is None and time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.2)
    yield process
    stop_worker(process)
