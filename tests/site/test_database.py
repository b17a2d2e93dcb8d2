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


# --- The connection check at the start of a request (sspr_site/postgresql/base.py) ------------


def _other_session():
    """A connection of its own to the test database, to watch and end the site's session."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    return psycopg.connect(**params, autocommit=True)


def _new_request():
    """What Django does between two requests: a kept connection is checked again before the
    next request's first query."""
    from django.db import close_old_connections

    close_old_connections()
    connection.ensure_connection()
    connection.close_if_health_check_failed()


def _backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_is_checked_without_asking_the_server():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    backend = _backend()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last statement before the next request'")
    _new_request()
    with _other_session() as other:
        (last,) = other.execute(
            "SELECT query FROM pg_stat_activity WHERE pid = %s", [backend]
        ).fetchone()
    # The server saw nothing from the check (Django's own would have sent SELECT 1), and the
    # request goes on in the same session.
    assert last == "SELECT 'the last statement before the next request'"
    assert _backend() == backend


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_session_the_server_ended_is_opened_again_before_the_next_request():
    import time

    backend = _backend()
    with _other_session() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend])
        deadline = time.monotonic() + 10
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]).fetchone():
            assert time.monotonic() < deadline, "the server did not end the session"
            time.sleep(0.05)
    _new_request()
    # No error for the next request: its first query runs, in a new session.
    assert _backend() != backend
