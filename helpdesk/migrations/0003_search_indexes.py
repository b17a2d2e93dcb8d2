"""Indexes for the helpdesk's search on PostgreSQL: a search of a name, username or email reads
these instead of every person (docs/performance.md, "At scale").

The search matches any part of those fields whatever the case, as `UPPER(field) LIKE UPPER(…)`;
trigram indexes on the same expressions answer it. They need PostgreSQL's pg_trgm extension,
which a database owner may create (it is a trusted extension since PostgreSQL 13). Where it
cannot be created, the migration says so and the search works as before, without the indexes.
Other databases are left alone.
"""

from django.db import DatabaseError, migrations, transaction

FIELDS = ("username", "first_name", "last_name", "email")


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        print(  # noqa: T201  (a migration's word to the person running it)
            "\n  The pg_trgm extension could not be created: the helpdesk's search works "
            "without its indexes (slower with many people)."
        )
        return
    with connection.cursor() as cursor:
        for field in FIELDS:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS sspr_user_{field}_search ON auth_user "
                f"USING gin ((UPPER({field}::text)) gin_trgm_ops)"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for field in FIELDS:
            cursor.execute(f"DROP INDEX IF EXISTS sspr_user_{field}_search")


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0002_helpdesk_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create, drop)]
