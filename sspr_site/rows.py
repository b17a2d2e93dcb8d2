"""A row written in the fewest round trips to the database."""

from __future__ import annotations

from contextlib import nullcontext

from django.db import IntegrityError, router, transaction


def insert_once(model, **fields) -> bool:
    """Insert a row of `model`; False, changing nothing, when one with the same unique key is
    there already (another request's, say); any other refusal is raised. One INSERT outside a
    transaction; inside one, in a savepoint, which the refused insert would otherwise break.
    (Django's `bulk_create(..., ignore_conflicts=True)` opens and commits a transaction of its
    own around its one statement: three round trips.)"""
    using = router.db_for_write(model)
    try:
        with (
            transaction.atomic(using=using)
            if transaction.get_connection(using).in_atomic_block
            else nullcontext()
        ):
            model._default_manager.using(using).create(**fields)
    except IntegrityError as error:
        if not _unique_key_taken(error):
            raise  # another constraint (a person deleted meanwhile, say): not "already there"
        return False
    return True


# The driver's word for "a row with this unique key exists": PostgreSQL's SQLSTATE, SQLite's
# extended result codes (a primary key is a unique key too).
_TAKEN = {"23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}


def _unique_key_taken(error: IntegrityError) -> bool:
    cause = error.__cause__
    return bool(
        {getattr(cause, "sqlstate", None), getattr(cause, "sqlite_errorname", None)} & _TAKEN
    )
