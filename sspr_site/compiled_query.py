"""A query for one row that is turned into SQL once per database connection, not on every use.

The person's methods load in one query with an annotation per method (methods/registry.py);
building its SQL takes about 2.5 ms, running it about 0.2 ms, and it runs on most pages of
/ssprsetup (docs/performance.md). `OneRow` keeps the compiled SQL with its parameters, puts the
row's key in its place on each use, and builds the model instance as Django's own iteration
does (the same converters, the rows joined by select_related, the same annotations as
attributes, then any prefetches). The query it is given must
not depend on the time it is built or on settings that change while the process runs.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet, prefetch_related_objects
from django.db.models.query import get_related_populators

# Stands for the key in the compiled SQL's parameters until a use puts the real one there.
PLACEHOLDER = -2_104_729_931  # within every backend's integer range


class OneRow:
    def __init__(self, build: Callable[[], QuerySet], using: str = "default"):
        self.build = build
        self.using = using
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _compile(self, connection) -> tuple:
        queryset = self.build().filter(pk=PLACEHOLDER).order_by()
        compiler = queryset.query.get_compiler(using=self.using)
        sql, params = compiler.as_sql()
        if list(params).count(PLACEHOLDER) != 1:
            raise ValueError("the key must appear once among the query's parameters")
        klass_info = compiler.klass_info
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        names = [column[0].target.attname for column in compiler.select[first:last]]
        converters = compiler.get_converters(
            [column[0] for column in compiler.select[: compiler.col_count]]
        )
        compiled = (
            compiler,
            sql,
            list(params),
            list(params).index(PLACEHOLDER),
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

    def get(self, pk: Any):
        """The row with primary key `pk` as a model instance with the query's annotations,
        or None."""
        connection = connections[self.using]
        compiled = self._compiled.get(connection) or self._compile(connection)
        (
            compiler,
            sql,
            params,
            position,
            model,
            (first, last),
            names,
            annotations,
            converters,
            related,
            prefetches,
        ) = compiled
        params = [*params]
        params[position] = pk
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
