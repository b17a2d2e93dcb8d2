"""Run one piece of work in several threads that start at the same moment, as two clicks,
two hosts or a proxy's retry would: each thread has its own database connection, closed at
its end, and what each returns is collected (in the order they finished)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection
from django.test import Client


def at_once(work: Callable[[], object], count: int = 2, timeout: float = 60) -> list:
    barrier = threading.Barrier(count)
    results: list = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(work())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


def another_window(client: Client) -> Client:
    """Another window of the browser `client` is: the same cookies, as they are now."""
    window = Client()
    window.cookies = client.cookies.__class__(client.cookies)
    return window
