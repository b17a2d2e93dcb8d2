"""Django's PostgreSQL backend, with a connection check at the start of each request that asks
the connection's socket, not the server.

A connection is kept between requests (`CONN_MAX_AGE`), and each request checks it before its
first query (`CONN_HEALTH_CHECKS`), so that a database that restarted, failed over or ended the
session gives no one an error page. Django checks by sending `SELECT 1` and waiting for the
answer: a round trip at every request, about 60 µs of the site's processor time and the
network's delay on top (docs/performance.md). Here the check is the one a server that ends a
session makes possible: an idle connection on which the server has said something unasked, or
that it has closed, is closed and opened again; one on which nothing arrived is used. A server
ending a session (a restart, a failover, `pg_terminate_backend`, `idle_session_timeout`, a
pooler letting go) says so and closes its end, and the kernel closes the socket of a server
that crashed, so the socket has something to read. What it cannot see, a network that silently
drops the connection, Django's `SELECT 1` would not have seen either before its own time-out.

After a request whose query failed, Django's full check (`is_usable`, the round trip) still
decides whether the connection is kept.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import is_psycopg3


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            self.connection is None
            or not self.health_check_enabled
            or self.health_check_done
            or self.pool
        ):
            return super().close_if_health_check_failed()
        if not self._looks_alive():
            self.close()
        self.health_check_done = True

    def _looks_alive(self) -> bool:
        connection = self.connection
        if not is_psycopg3 or not hasattr(select, "poll"):
            return self.is_usable()  # nothing cheaper to ask
        if connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != base.Database.pq.TransactionStatus.IDLE:
            return self.is_usable()  # mid-transaction or unsure: ask the server
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        # Between requests the server has nothing to send: anything there (a notice that it is
        # ending the session, the end of the connection, an error) means it is not to be used.
        return not poller.poll(0)
