"""The message worker (delivery/worker.py): each job runs in the worker's own process, not a
fork of it, and a database connection that broke between two jobs is opened again."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.db import connection

from delivery import outbox

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def note_process(*, path: str) -> None:
    """A job: the process that ran it and its database session."""
    from django.db import connection as worker_connection

    with worker_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    with open(path, "a") as notes:
        notes.write(f"{os.getpid()} {backend}\n")


def wait_for_lines(path: Path, count: int) -> list[list[int]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return [[int(value) for value in line.split()] for line in lines]
        time.sleep(0.1)
    raise AssertionError(f"{count} jobs did not run: {path.read_text() if path.exists() else ''}")


def test_jobs_run_in_the_worker_and_outlive_a_broken_database_connection(worker, tmp_path):
    notes = tmp_path / "notes"
    outbox.later("tests.delivery.test_worker.note_process", path=str(notes))
    outbox.later("tests.delivery.test_worker.note_process", path=str(notes))
    (first_pid, first_backend), (second_pid, second_backend) = wait_for_lines(notes, 2)
    # The worker's own process ran both, on one database session kept between jobs.
    assert first_pid == second_pid == worker.pid
    assert first_backend == second_backend

    # The database ends that session (a restart, a failover, an administrator).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first_backend])
    outbox.later("tests.delivery.test_worker.note_process", path=str(notes))
    *_, (third_pid, third_backend) = wait_for_lines(notes, 3)
    assert third_pid == worker.pid
    assert third_backend != first_backend
    assert worker.poll() is None
