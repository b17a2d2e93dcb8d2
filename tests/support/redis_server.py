"""A throw-away redis-server on a free loopback port, for tests that stop or hang it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager

from tests.support.smtp import free_port

REDIS_SERVER = shutil.which("redis-server")


@contextmanager
def redis_server(tmp_path, port: int | None = None):
    """Start redis-server (on `port`, to stand in for one that was stopped); yield the process,
    its URL as `.url`. The caller may stop it early with .terminate()."""
    port = port or free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        process.url = f"redis://127.0.0.1:{port}/0"
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def silent_listener():
    """A port that accepts connections and never answers: a hung server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        listener.close()
