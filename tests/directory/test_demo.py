"""`make run-directory`'s command: the demo directory serves the site, and stopping the command
stops the directory too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from directory.servers import free_port

pytestmark = pytest.mark.directory

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_serves_against_its_directory_and_stops_with_it(tmp_path):
    port = free_port()
    env = {**os.environ, "DJANGO_DEBUG": "1", "SSPR_VAR_DIR": str(tmp_path)}
    # As `make run-directory` runs it: SQLite and the local cache, no queue (with REDIS_URL the
    # readiness check would wait for a message worker the demo does not start).
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "run_directory_demo", "--address", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the demo did not answer")
        assert '"directory": "ok"' in body
        pid_file = tmp_path / "directory-demo" / "slapd.pid"
        slapd_pid = int(pid_file.read_text().split()[0])
    finally:
        demo.send_signal(signal.SIGTERM)
        output, _ = demo.communicate(timeout=30)
        print(output[-3000:])  # shown when the test fails
    assert "ada" in output and "Ada-Directory-2026" in output  # the sign-ins were printed
    assert "The demo directory was stopped." in output
    with pytest.raises(ProcessLookupError):
        os.kill(slapd_pid, 0)
