"""The real queue for tests/delivery: RQ on the loopback Redis, real worker processes
(`manage.py rqworker`, as `make serve` runs it), the real twilio client against the loopback
Twilio stand-in, PostgreSQL shared by the test and the worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from rq import Queue, Worker

from tests.conftest import sign_in
from tests.passwordreset.conftest import start_reset
from tests.support.fake_twilio import FakeTwilio

ROOT = Path(__file__).resolve().parents[2]
SID = "AC" + "b" * 32


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


def worker_env(twilio: FakeTwilio) -> dict[str, str]:
    """The worker's environment: the same database, Redis and secret key as the test."""
    db = connection.settings_dict
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "DJANGO_DEBUG": "1",
        "DJANGO_SECRET_KEY": django_settings.SECRET_KEY,
        "DATABASE_URL": (f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"),
        "SSPR_DELIVERY": "queue",
        "SSPR_PHONE_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": twilio.base_url,
        "TWILIO_TIMEOUT": "2",
        # As the `queued` fixture sets for the web side: a job the worker queues itself (a
        # message's next try after its first, delivery.outbox.send) follows the same schedule.
        "SSPR_DELIVERY_RETRY_INTERVALS": "0,0",
    }


def run_worker(twilio: FakeTwilio) -> subprocess.CompletedProcess:
    """Run the worker until the queue is empty."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "rqworker", "sspr", "--burst"],
        cwd=ROOT,
        env=worker_env(twilio),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


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


def stop_worker(process: subprocess.Popen) -> None:
    """Stop the worker as a service manager does (SIGTERM: it finishes and leaves)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def ask_for_code(make_user, number: str = "+447400123456") -> Client:
    client = Client()
    make_user("alice")
    assert sign_in(client, "alice").status_code == 302
    client.post("/ssprsetup/phone/", {"number": number})
    response = client.post("/ssprsetup/phone/send/", {"channel": "sms"})
    assert response["Location"] == "/ssprsetup/phone/verify/"
    return client


def reset_code_page(name: str, number: str) -> Client:
    """A reset started for `name` at the portal, a code asked for `number`: on its code page."""
    client = Client()
    assert start_reset(client, name).status_code == 302
    response = client.post("/passwordreset/phone/", {"number": number, "channel": "sms"})
    assert response["Location"] == "/passwordreset/phone/code/"
    return client
