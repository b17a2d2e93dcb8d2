"""Sessions kept in the shared cache and written through to the database, as Django's
`cached_db` engine does, with fewer statements where a step changes the session's key.

A new key is given at each step passed (docs/security.md §23). Django's engine writes the session
under its new key at once, removes the old row with a read and a delete, and writes it again at
the end of the request. Here one UPDATE at the end of the request gives the session's row its
new key and its new data together, and the old key leaves the cache: until then the old key
reads what it read before the step, and a request that fails on the way leaves it so. If the
row is gone by then (another request of the same session gave it a new key first, a form sent
twice; or the session ended), the session is written under its new key, as Django's engine
writes it. A new key is a fresh 32-character random string; the database refuses a key that
exists, and then another is drawn.

Outside a transaction a session is written with one plain INSERT or UPDATE, not through the
model in a transaction of its own: a quarter of the time on SQLite, and two round trips fewer on
PostgreSQL, at every step that changes the session; and a new session goes to the cache once.
Inside one, Django's way (a savepoint).
"""

from __future__ import annotations

import logging
import secrets

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.db import IntegrityError, connections, router, transaction

from sspr_site.compiled_query import prepared_cursor

logger = logging.getLogger("django.contrib.sessions")


def new_key(length: int = 32) -> str:
    """A session key: `length` characters of VALID_KEY_CHARS, each uniform and independent,
    as Django's get_random_string(32, VALID_KEY_CHARS) draws them, from one draw of the system's
    random source instead of one a character (about 5 µs instead of 46, at every step passed)."""
    base = len(VALID_KEY_CHARS)
    value = secrets.randbelow(base**length)
    characters = []
    for _ in range(length):
        value, digit = divmod(value, base)
        characters.append(VALID_KEY_CHARS[digit])
    return "".join(characters)


class SessionStore(cached_db.SessionStore):
    # The key whose row this session takes over when it is next saved (cycle_key).
    _replaces: str | None = None

    def _validate_session_key(self, key):
        """A key as this site makes them (VALID_KEY_CHARS) or none: a cookie carrying anything
        else (a NUL, which PostgreSQL refuses in a query) is no session, as one too short is,
        never a server error (docs/security.md rule 28)."""
        return super()._validate_session_key(key) and all(c in VALID_KEY_CHARS for c in key)

    def _database(self):
        """The session table's database: its alias, its connection, and the table's and its
        columns' quoted names (key, data, expiry) for the plain statements below."""
        using = router.db_for_write(self.model)
        connection = connections[using]
        meta, quote = self.model._meta, connection.ops.quote_name
        names = (
            quote(meta.db_table),
            *(
                quote(meta.get_field(f).column)
                for f in ("session_key", "session_data", "expire_date")
            ),
        )
        return using, connection, names

    def save(self, must_create=False):
        _using, connection, (table, key, data, expires) = self._database()
        if connection.in_atomic_block:
            self._drop_replaced()
            return super().save(must_create)
        if self._replaces is not None:
            return self._take_over()
        if self.session_key is None:
            # A new key: one INSERT and one write to the cache (Django's engine would write the
            # cache a second time on its way back from creating it).
            return self.create()
        values = self._row_values(connection, no_load=must_create)
        with prepared_cursor(connection) as cursor:
            if must_create:
                try:
                    cursor.execute(
                        f"INSERT INTO {table} ({data}, {expires}, {key}) VALUES (%s, %s, %s)",  # noqa: S608
                        values,
                    )
                except IntegrityError:
                    raise CreateError from None
            else:
                cursor.execute(
                    f"UPDATE {table} SET {data} = %s, {expires} = %s WHERE {key} = %s",  # noqa: S608
                    values,
                )
                if cursor.rowcount != 1:
                    raise UpdateError  # the session ended meanwhile (as Django's save says)
        self._to_cache()

    def _to_cache(self):
        """The session written to the cache too; a cache that fails loses nothing (the
        database has it), so it is logged, not raised."""
        try:
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except Exception:
            logger.exception("Error saving to cache (%s)", self._cache)

    def _row_values(self, connection, *, no_load=False) -> list:
        """The row's data, expiry and key, as the statements below take them."""
        row = self.create_model_instance(self._get_session(no_load=no_load))
        return [
            row.session_data,
            self.model._meta.get_field("expire_date").get_db_prep_save(row.expire_date, connection),
            row.session_key,
        ]

    def _take_over(self):
        """The replaced key's row, under a new key and with the data as it is now: one UPDATE.
        Its row gone, the session is inserted under a new key instead."""
        _using, connection, (table, key, data, expires) = self._database()
        while True:
            self._session_key = self.session_key or new_key()
            values = [*self._row_values(connection), self._replaces]
            try:
                with prepared_cursor(connection) as cursor:
                    cursor.execute(
                        f"UPDATE {table} SET {data} = %s, {expires} = %s, {key} = %s "  # noqa: S608
                        f"WHERE {key} = %s",
                        values,
                    )
                    taken_over = cursor.rowcount == 1
            except IntegrityError:
                self._session_key = None
                continue  # that key exists: draw another
            break
        replaced, self._replaces = self._replaces, None
        try:
            self._cache.delete(self.cache_key_prefix + replaced)
        except Exception:
            logger.exception("Error deleting from cache (%s)", self._cache)
        if not taken_over:
            # Its row is gone: another request of the same session gave it a new key first (a
            # form sent twice), or it ended. Written under the new key, as Django's engine does.
            self._session_key = None
            return self.create()
        self.modified = True
        self._to_cache()

    def _drop_replaced(self):
        if self._replaces is not None:
            replaced, self._replaces = self._replaces, None
            self.delete(replaced)

    def create(self):
        while True:
            self._session_key = new_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue  # that key exists: draw another
            self.modified = True
            return

    def cycle_key(self):
        data = self._session
        key = self.session_key
        self._session_key = None  # a new key is drawn when the session is saved
        self._session_cache = data
        self.modified = True
        if key and self._replaces is None:  # cycled twice: the row is still under the first key
            # Until the session is saved, the old key reads what it read before the step, from
            # the cache as from the database.
            self._replaces = key

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                self._drop_replaced()  # ended after a new key was given: its row goes too
                return
            session_key = self.session_key
        self._cache.delete(self.cache_key_prefix + session_key)
        # One statement: a queryset's delete() would wrap it in a transaction of its own (two
        # more round trips at every step passed outside one). Nothing refers to a session row
        # and nothing listens for its deletion, so there is nothing else to delete or tell.
        using, connection, (table, key, _data, _expires) = self._database()
        with transaction.mark_for_rollback_on_error(using), prepared_cursor(connection) as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE {key} = %s", [session_key])  # noqa: S608


def end_sessions_of(user_id: int) -> int:
    """End every session of one person, wherever it is (docs/security.md rule 68): each live
    row is read and the person's are removed, from the cache and the database. A rare step (a
    change reported as not the person's), so a pass over the live sessions is enough; returns
    how many ended."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    store = SessionStore()
    ended = 0
    live = Session.objects.filter(expire_date__gt=timezone.now()).only(
        "session_key", "session_data"
    )
    for row in live.iterator(chunk_size=500):
        if store.decode(row.session_data).get("_auth_user_id") == str(user_id):
            store.delete(row.session_key)
            ended += 1
    return ended
