"""The delivery worker as tests/delivery runs it (`manage.py rqworker`, as `make serve` runs
it): the account SID the loopback Twilio stand-in is started with, the worker's environment (the
test's database, Redis and secret key, that stand-in for Twilio), a run until the queue is
empty, and a stop as a service manager does it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings as django_settings
from django.db import connection

from tests.support.fake_twilio import FakeTwilio

ROOT = Path(__file__).resolve().parents[2]
SID = "AC" + "b" * 32


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


def stop_worker(process: subprocess.Popen) -> None:
    """Stop the worker as a service manager does (SIGTERM: it finishes and leaves)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
