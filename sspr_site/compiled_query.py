"""A query for one row that is turned into SQL once per database connection, not on every use.

The person's methods load in one query with an annotation per method (methods/registry.py);
building its SQL takes about 2.5 ms, running it about 0.2 ms, and it runs on most pages of
/ssprsetup (docs/performance.md). Even a plain lookup by key costs about 0.25 ms to build and
0.03 ms to run, and the lookups every request makes (the signed-in person, their registration,
whether self-service is paused, their code) add up. `OneRow` keeps the compiled SQL with its
parameters, puts the keys' values in their places on each use, and builds the model instance
as Django's own iteration does (the same converters, the rows joined by select_related, the
same annotations as attributes, then any prefetches).

The keys are the primary key unless others are named (`OneRow(build, "user", "method")`); they
must select at most one row (the first is taken, in no particular order). The query it is
given must not depend on the time it is built or on settings that change while the process
runs.

On PostgreSQL each of these queries is also a prepared statement of the connection: the
database plans it once per connection, not at every use. For the person's methods that is most
of its cost (about 1.3 ms of planning, 0.4 ms of running); for a lookup by key, a few hundredths
of a millisecond. `DATABASE_PREPARED_STATEMENTS=0` turns that off, for a connection pooler in
transaction mode that cannot keep a connection's prepared statements (sspr_site/settings.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet, prefetch_related_objects
from django.db.models.query import ValuesListIterable, get_related_populators
from django.db.transaction import TransactionManagementError

from sspr_site.conf import app_settings

# Stands for a key in the compiled SQL's parameters until a use puts the real one there.
PLACEHOLDER = -2_104_729_931  # within every backend's integer range


def _placeholder(model, key: str, index: int):
    """A value for `key` that no real row has and that appears nowhere else in the query: a
    number for an integer column, a word for a text one. A key's value is given to the driver
    as it comes (an int, a str): columns whose values Django converts on the way (a UUID, a
    normalised address, a small or positive integer) are refused."""
    field = model._meta.pk if key == "pk" else model._meta.get_field(key)
    if field.is_relation:
        field = field.target_field
    kind = field.get_internal_type()
    if kind in {"AutoField", "BigAutoField", "IntegerField", "BigIntegerField"}:
        return PLACEHOLDER - index, int
    if kind in {"CharField", "TextField"}:
        return f"\x1fsspr-key-{index}", str
    raise ValueError(f"a key must be an integer or text column, not {key} ({kind})")


def kept_on(connection) -> dict:
    """What was compiled for `connection` (by OneRow, Values, sspr_site/rows.py's Insert), kept
    on the connection object itself: it goes when the connection goes (a thread's, when the
    thread ends), though what it holds refers back to the connection."""
    kept = connection.__dict__.get("_sspr_compiled")
    if kept is None:
        kept = connection.__dict__["_sspr_compiled"] = {}
    return kept


class _Keyed:
    """A query of the rows whose keys have given values, compiled once per connection: the
    queryset `build` gives, filtered on a placeholder for each key (OneRow, Values)."""

    def __init__(self, build: Callable[[], QuerySet], *keys: str, using: str = "default"):
        if len(set(keys)) != len(keys):
            raise ValueError("each key is named once")
        self.build = build
        self.keys = keys or ("pk",)
        self.using = using

    def _marked(self, queryset: QuerySet):
        """The queryset filtered on the keys' placeholders (its order dropped), its compiler,
        SQL and parameters, and where in them each key's value goes, with its type."""
        marks = [_placeholder(queryset.model, key, i) for i, key in enumerate(self.keys)]
        lookups = {key: mark for key, (mark, _kind) in zip(self.keys, marks, strict=True)}
        queryset = queryset.filter(**lookups).order_by()
        compiler = queryset.query.get_compiler(using=self.using)
        sql, params = compiler.as_sql()
        params = list(params)
        if any(params.count(mark) != 1 for mark, _kind in marks):
            raise ValueError("each key must appear once among the query's parameters")
        return queryset, compiler, sql, params, [(params.index(m), kind) for m, kind in marks]

    def _run(self, connection, sql: str, params: list, positions: list, values, fetch):
        params = [*params]
        for (position, kind), value in zip(positions, values, strict=True):
            # Choices are str or int subclasses: the drivers are given the plain value.
            params[position] = None if value is None else kind(value)
        with prepared_cursor(connection) as cursor:
            cursor.execute(sql, params)
            return fetch(cursor)


class OneRow(_Keyed):
    def __init__(self, build: Callable[[], QuerySet], *keys: str, using: str = "default"):
        super().__init__(build, *keys, using=using)
        self._locking = False

    def _compile(self, connection) -> tuple:
        queryset, compiler, sql, params, positions = self._marked(self.build())
        klass_info = compiler.klass_info
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        names = [column[0].target.attname for column in compiler.select[first:last]]
        converters = compiler.get_converters(
            [column[0] for column in compiler.select[: compiler.col_count]]
        )
        # A locking query (select_for_update) is refused outside a transaction on every use, as
        # Django refuses it when it builds the SQL: in autocommit it would lock nothing.
        self._locking = bool(queryset.query.select_for_update)
        compiled = (
            compiler,
            sql,
            params,
            positions,
            klass_info["model"],
            (first, last),
            names,
            dict(compiler.annotation_col_map),
            converters,
            # The rows joined with select_related, filled in as Django's own iteration does.
            get_related_populators(klass_info, compiler.select, self.using),
            tuple(queryset._prefetch_related_lookups),
        )
        kept_on(connection)[self] = compiled
        return compiled

    def get(self, *values: Any):
        """The row whose keys have `values` (in the order the keys were named) as a model
        instance with the query's annotations, or None. A value of None matches no row."""
        connection = connections[self.using]
        compiled = kept_on(connection).get(self) or self._compile(connection)
        if self._locking and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        (
            compiler,
            sql,
            params,
            positions,
            model,
            (first, last),
            names,
            annotations,
            converters,
            related,
            prefetches,
        ) = compiled
        row = self._run(connection, sql, params, positions, values, lambda c: c.fetchone())
        if row is None:
            return None
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        instance = model.from_db(self.using, names, row[first:last])
        for populator in related:
            populator.populate(row, instance)
        for name, position in annotations.items():
            setattr(instance, name, row[position])
        if prefetches:
            prefetch_related_objects([instance], *prefetches)
        return instance


class Values(_Keyed):
    """As OneRow, for a `values_list` query of several rows: the rows whose keys have the given
    values, as tuples of the listed columns (converted as Django converts them), in no
    particular order. A change of someone's methods reads their earlier changes this way
    (methods/not_me.py): built each time, that query cost about 0.19 ms, against 0.02 ms to
    run it."""

    def _compile(self, connection) -> tuple:
        queryset = self.build()
        if queryset._iterable_class is not ValuesListIterable or queryset.query.select_for_update:
            raise ValueError("a values_list query that locks nothing")
        _queryset, compiler, sql, params, positions = self._marked(queryset)
        converters = compiler.get_converters(
            [column[0] for column in compiler.select[: compiler.col_count]]
        )
        compiled = (compiler, sql, params, positions, compiler.col_count, converters)
        kept_on(connection)[self] = compiled
        return compiled

    def all(self, *values: Any) -> list[tuple]:
        """Every row whose keys have `values` (a value of None matches no row)."""
        connection = connections[self.using]
        compiled = kept_on(connection).get(self) or self._compile(connection)
        compiler, sql, params, positions, width, converters = compiled
        fetched = self._run(connection, sql, params, positions, values, lambda c: c.fetchall())
        rows = [row[:width] for row in fetched]
        if converters:
            rows = [tuple(row) for row in compiler.apply_converters(rows, converters)]
        return rows


def prepared_cursor(connection):
    """Django's cursor on `connection`; on PostgreSQL, one that binds the values on the server
    and runs the query as the connection's prepared statement (these queries, and the
    statements sspr_site/rows.py and sspr_site/sessions.py build once)."""
    if connection.vendor != "postgresql" or not app_settings.DB_PREPARED_STATEMENTS:
        return connection.cursor()
    # What connection.cursor() does first: a broken or old connection is replaced.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = _prepared_cursor_class()(connection.connection)
        _same_time_zone(connection, cursor)
        return connection._prepare_cursor(cursor)


@functools.cache
def _prepared_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            super().execute(query, params, prepare=True, binary=binary)
            # Django's record of the queries run (when it keeps one) reads the text from here,
            # which psycopg leaves empty for a statement bound on the server.
            self._query = _Text(query.encode())
            return self

    return PreparedCursor


@dataclass(frozen=True)
class _Text:
    query: bytes


def _same_time_zone(connection, cursor) -> None:
    """Timestamps read in the connection's time zone, as Django's own cursors do."""
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != loader.timezone:
        register_tzloader(connection.timezone, cursor)


def _people() -> QuerySet:
    """People, with what the installed apps ask to know of the signed-in person in the same
    query: an app's config may have `person_annotations()` (a dict for QuerySet.annotate),
    each value then an attribute of `request.user` (methods: whether self-service is paused,
    asked on every POST of /ssprsetup)."""
    from django.apps import apps
    from django.contrib.auth import get_user_model

    people = get_user_model()._default_manager.all()
    for config in apps.get_app_configs():
        annotations = getattr(config, "person_annotations", None)
        if annotations is not None:
            people = people.annotate(**annotations())
    return people


# The signed-in person, read on every request from their session's id.
_ONE_USER = OneRow(_people)

# Another query of one person by key, for a page that needs more of the person than _ONE_USER
# reads: read_person_with().
_READ_WITH: ContextVar[OneRow | None] = ContextVar("sspr_read_person_with", default=None)


@contextmanager
def read_person_with(query: OneRow):
    """While inside, the signed-in person is read with `query` instead (a query of people by
    primary key, reading at least what _ONE_USER reads), and the instance remembers it:
    `read_with(user) is query`. One query where a page would otherwise read the person, then
    the same row again with more (registration/middleware.py: the person's methods)."""
    token = _READ_WITH.set(query)
    try:
        yield
    finally:
        _READ_WITH.reset(token)


def read_with(user) -> OneRow | None:
    """The query the signed-in person was read with by read_person_with(), if any."""
    return getattr(user, "_sspr_read_with", None)


def active_user(pk: Any):
    """The active account with primary key `pk`, or None: what an authentication backend's
    `get_user` answers for the id in a session (a disabled account is signed out)."""
    query = _READ_WITH.get()
    user = (query or _ONE_USER).get(pk)
    if user is None or not user.is_active:
        return None
    if query is not None:
        user._sspr_read_with = query
    return user
