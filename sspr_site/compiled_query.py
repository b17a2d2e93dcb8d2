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
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet, prefetch_related_objects
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

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


class OneRow:
    def __init__(self, build: Callable[[], QuerySet], *keys: str, using: str = "default"):
        if len(set(keys)) != len(keys):
            raise ValueError("each key is named once")
        self.build = build
        self.keys = keys or ("pk",)
        self.using = using
        self._locking = False
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _compile(self, connection) -> tuple:
        queryset = self.build()
        marks = [_placeholder(queryset.model, key, i) for i, key in enumerate(self.keys)]
        lookups = {key: mark for key, (mark, _kind) in zip(self.keys, marks, strict=True)}
        queryset = queryset.filter(**lookups).order_by()
        compiler = queryset.query.get_compiler(using=self.using)
        sql, params = compiler.as_sql()
        params = list(params)
        if any(params.count(mark) != 1 for mark, _kind in marks):
            raise ValueError("each key must appear once among the query's parameters")
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
            [(params.index(mark), kind) for mark, kind in marks],
            klass_info["model"],
            (first, last),
            names,
            dict(compiler.annotation_col_map),
            converters,
            # The rows joined with select_related, filled in as Django's own iteration does.
            get_related_populators(klass_info, compiler.select, self.using),
            tuple(queryset._prefetch_related_lookups),
        )
        self._compiled[connection] = compiled
        return compiled

    def get(self, *values: Any):
        """The row whose keys have `values` (in the order the keys were named) as a model
        instance with the query's annotations, or None. A value of None matches no row."""
        connection = connections[self.using]
        compiled = self._compiled.get(connection) or self._compile(connection)
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
        params = [*params]
        for (position, kind), value in zip(positions, values, strict=True):
            # Choices are str or int subclasses: the drivers are given the plain value.
            params[position] = None if value is None else kind(value)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
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


def _people() -> QuerySet:
    from django.contrib.auth import get_user_model

    return get_user_model()._default_manager.all()


# The signed-in person, read on every request from their session's id.
_ONE_USER = OneRow(_people)


def active_user(pk: Any):
    """The active account with primary key `pk`, or None: what an authentication backend's
    `get_user` answers for the id in a session (a disabled account is signed out)."""
    user = _ONE_USER.get(pk)
    return user if user is not None and user.is_active else None
