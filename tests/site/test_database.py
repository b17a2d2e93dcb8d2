"""The database connections run with the options the README names (docs/performance.md):
SQLite with a write-ahead log and no flush at each commit, PostgreSQL without just-in-time
compilation of queries. Each pass of `make test` checks its own database."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_the_database_runs_with_the_documented_options():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 1  # NORMAL
        else:
            assert connection.vendor == "postgresql"
            cursor.execute("SHOW jit")
            assert cursor.fetchone()[0] == "off"


# --- A kept connection the server ended (Django's check at the start of a request) -----------


def _other_session():
    """A connection of its own to the test database, to end the site's session."""
    import psycopg

    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    return psycopg.connect(**params, autocommit=True)


def _backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_session_the_server_ended_is_opened_again_before_the_next_request():
    """A restart, a failover, an administrator: the next request's first query runs on a new
    session, not into an error page (CONN_HEALTH_CHECKS, a round trip that the check of a
    socket alone cannot replace: a server gone silently leaves nothing to read)."""
    import time

    from django.db import close_old_connections

    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    backend = _backend()
    with _other_session() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend])
        deadline = time.monotonic() + 10
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]).fetchone():
            assert time.monotonic() < deadline, "the server did not end the session"
            time.sleep(0.05)
    close_old_connections()  # what Django does between two requests
    assert _backend() != backend
