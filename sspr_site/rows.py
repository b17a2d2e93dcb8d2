"""A row written in the fewest round trips to the database, and with the least work."""

from __future__ import annotations

from contextlib import nullcontext

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Model, signals
from django.db.models.sql import InsertQuery

from sspr_site.compiled_query import kept_on, prepared_cursor


def insert_once(model, **fields) -> bool:
    """Insert a row of `model`; False, changing nothing, when one with the same unique key is
    there already (another request's, say); any other refusal is raised. One INSERT outside a
    transaction; inside one, in a savepoint, which the refused insert would otherwise break.
    (Django's `bulk_create(..., ignore_conflicts=True)` opens and commits a transaction of its
    own around its one statement: three round trips.)"""
    return _created_unless_taken(model, router.db_for_write(model), fields) is not None


def _created_unless_taken(model, using: str, fields: dict):
    """Django's create(**fields), or None when a row with the same unique key is there; in a
    savepoint inside a transaction, which the refused insert would otherwise break."""
    try:
        with (
            transaction.atomic(using=using)
            if transaction.get_connection(using).in_atomic_block
            else nullcontext()
        ):
            return model._default_manager.using(using).create(**fields)
    except IntegrityError as error:
        if not _unique_key_taken(error):
            raise  # another constraint (a person deleted meanwhile, say): not "already there"
        return None


# The driver's word for "a row with this unique key exists": PostgreSQL's SQLSTATE, SQLite's
# extended result codes (a primary key is a unique key too).
_TAKEN = {"23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}


def _unique_key_taken(error: IntegrityError) -> bool:
    cause = error.__cause__
    return bool(
        {getattr(cause, "sqlstate", None), getattr(cause, "sqlite_errorname", None)} & _TAKEN
    )


class Insert:
    """`Model.objects.create(**values)` for a row written at every step (an audit event, a
    change of someone's methods), with the INSERT's SQL built once per database connection, not
    on every use: Django builds it again each time, about two thirds of a create's 130-160 µs
    (docs/performance.md). The instance is made as Django makes it (defaults, `auto_now_add`,
    each field's value prepared for the database as Django prepares it) and comes back saved,
    with the primary key the database gave it. The model's pre_save and post_save receivers
    hear of it as they hear of Django's save (a row not written, with `unless_there`, is not
    saved: post_save is not sent).

    A model with a save() of its own or a field with only a database default, a row given its own
    automatic key or a value that is an expression, or a model that cannot be written this way
    (a parent model's table, a database that cannot return the new key with the INSERT) is
    created by Django as before.

    With `unless_there`, a row whose unique key another row has already is not written and
    create() returns None: one INSERT that does nothing then (`ON CONFLICT DO NOTHING`), with
    no savepoint around it inside a transaction, as a refused insert would need. Where Django
    writes the row instead, it is tried in a savepoint, as insert_once() tries it."""

    def __init__(self, model, using: str = "default", *, unless_there: bool = False):
        self.model = model
        self.using = using
        self.unless_there = unless_there

    def _compile(self, connection):
        meta = self.model._meta
        auto = meta.auto_field
        fields = [f for f in meta.local_concrete_fields if not f.generated and f is not auto]
        if (
            meta.parents
            or self.model.save is not Model.save  # a model's own save() is always called
            # A field with only a database default is written into Django's SQL as DEFAULT;
            # with a default of its own too, Django writes that value, as here.
            or any(f.has_db_default() and not f.has_default() for f in fields)
            or not connection.features.can_return_columns_from_insert
            # ON CONFLICT DO NOTHING: only a taken unique key is passed over (SQLite's own
            # INSERT OR IGNORE would pass over a missing value or a broken check too).
            or (self.unless_there and connection.vendor not in ("postgresql", "sqlite"))
        ):
            compiled = None
        else:
            query = InsertQuery(self.model)
            # The values only shape the SQL through their placeholders, the same for any value
            # of a field (a value that is itself SQL, an expression, is left to Django).
            query.insert_values(fields, [self.model()])
            compiler = query.get_compiler(connection=connection)
            compiler.returning_fields = meta.db_returning_fields
            [(sql, _params)] = compiler.as_sql()
            if self.unless_there:
                sql = _unless_there(sql, connection, compiler.returning_fields)
            columns = [field.get_col(meta.db_table) for field in compiler.returning_fields]
            compiled = (
                sql,
                fields,
                compiler,
                list(compiler.returning_fields),
                compiler.get_converters(columns),
            )
        kept_on(connection)[self] = compiled
        return compiled

    def create(self, **values):
        model = self.model
        connection = connections[self.using]
        compiled = kept_on(connection).get(self, False)
        if compiled is False:
            compiled = self._compile(connection)
        auto = model._meta.auto_field
        if (
            compiled is None
            or (auto is not None and not {"pk", auto.name}.isdisjoint(values))
            or any(hasattr(value, "resolve_expression") for value in values.values())
        ):
            if self.unless_there:
                return _created_unless_taken(model, self.using, values)
            return model._default_manager.using(self.using).create(**values)
        sql, fields, compiler, returning, converters = compiled
        instance = model(**values)
        instance._prepare_related_fields_for_save(operation_name="save")  # as save() does
        signals.pre_save.send(
            sender=model, instance=instance, raw=False, using=self.using, update_fields=None
        )
        params = [
            field.get_db_prep_save(field.pre_save(instance, True), connection=connection)
            for field in fields
        ]
        with (
            transaction.mark_for_rollback_on_error(self.using),
            prepared_cursor(connection) as cursor,
        ):
            cursor.execute(sql, params)
            if not returning:
                row = ()
                if self.unless_there and not cursor.rowcount:
                    return None  # a row with this unique key is there
            else:
                row = connection.ops.fetch_returned_insert_columns(
                    cursor, compiler.returning_params
                )
                if row is None:  # with unless_there: a row with this unique key is there
                    return None
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        for value, field in zip(row, returning, strict=True):
            setattr(instance, field.attname, value)
        instance._state.adding = False
        instance._state.db = self.using
        signals.post_save.send(
            sender=model,
            instance=instance,
            created=True,
            update_fields=None,
            raw=False,
            using=self.using,
        )
        return instance


def _unless_there(sql: str, connection, returning) -> str:
    """`sql` (an INSERT, with its RETURNING clause if any) that passes over a row whose unique
    key is taken: ON CONFLICT DO NOTHING, which PostgreSQL and SQLite (3.24 and later) read
    alike, before the RETURNING clause."""
    clause = connection.ops.return_insert_columns(returning)[0] if returning else ""
    if clause and not sql.endswith(clause):
        raise ValueError("an INSERT whose RETURNING clause is not where it is expected")
    head = sql[: len(sql) - len(clause)] if clause else sql
    return f"{head} ON CONFLICT DO NOTHING {clause}".rstrip()


class Update:
    """`Model.objects.filter(<keys>).update(<fields>)` for a change made at every step (a code
    issued, a code used up), its statement written once: the key and field columns are named
    here, each use gives their values. Django builds the same UPDATE again each time, most of
    its 130-170 µs (docs/performance.md). Each key is compared with `=`, so a key of None
    matches no row. As Django's update(), it sends no signals and calls no save(); it returns
    the number of rows changed."""

    def __init__(self, model, keys: tuple[str, ...], fields: tuple[str, ...], using="default"):
        meta = model._meta
        self.model = model
        self.using = using
        self.keys = [meta.pk if name == "pk" else meta.get_field(name) for name in keys]
        self.fields = [meta.get_field(name) for name in fields]
        self.names = frozenset(fields)
        if (
            len(self.names) != len(fields)
            or any(f.primary_key or f.is_relation for f in self.fields)
            or any(not f.concrete or f.model is not model for f in (*self.fields, *self.keys))
        ):
            raise ValueError(
                "fields are named once, each a column of the model's own table that is neither "
                "its key nor a relation"
            )
        self._sql: dict[str, str] = {}

    def _statement(self, connection) -> str:
        sql = self._sql.get(connection.vendor)
        if sql is None:
            name = connection.ops.quote_name
            sets = ", ".join(f"{name(field.column)} = %s" for field in self.fields)
            where = " AND ".join(f"{name(field.column)} = %s" for field in self.keys)
            table = name(self.model._meta.db_table)
            # The model's own table and columns, quoted; the values go as parameters.
            sql = self._sql[connection.vendor] = f"UPDATE {table} SET {sets} WHERE {where}"  # noqa: S608
        return sql

    def update(self, *keys, **values) -> int:
        if len(keys) != len(self.keys) or values.keys() != self.names:
            raise TypeError("every key and every field, each once")
        connection = connections[self.using]
        params = [
            field.get_db_prep_save(values[field.name], connection=connection)
            for field in self.fields
        ]
        params += [
            field.get_db_prep_value(value, connection, prepared=False)
            for field, value in zip(self.keys, keys, strict=True)
        ]
        with (
            transaction.mark_for_rollback_on_error(self.using),
            prepared_cursor(connection) as cursor,
        ):
            cursor.execute(self._statement(connection), params)
            return cursor.rowcount
