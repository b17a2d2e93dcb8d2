"""Sessions kept in the shared cache and written through to the database, as Django's
`cached_db` engine does, with fewer statements where a step changes the session's key.

A new key is given at each step passed (docs/security.md §23). Django's engine writes the session
under its new key at once, removes the old row with a read and a delete, and writes it again at
the end of the request; here the old key is removed with one statement, in no transaction of
its own, and the session is written once, under a new key, at the end of the request. A new key
is a fresh 32-character random string; the database refuses a key that exists, and then another
is drawn.
"""

from __future__ import annotations

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.db import connections, router, transaction
from django.utils.crypto import get_random_string


class SessionStore(cached_db.SessionStore):
    def create(self):
        while True:
            self._session_key = get_random_string(32, VALID_KEY_CHARS)
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
        if key:
            self.delete(key)

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._cache.delete(self.cache_key_prefix + session_key)
        # One statement: a queryset's delete() would wrap it in a transaction of its own (two
        # more round trips at every step passed outside one). Nothing refers to a session row
        # and nothing listens for its deletion, so there is nothing else to delete or tell.
        using = router.db_for_write(self.model)
        connection = connections[using]
        table = connection.ops.quote_name(self.model._meta.db_table)
        column = connection.ops.quote_name(self.model._meta.get_field("session_key").column)
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", [session_key])  # noqa: S608


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
