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
