"""An index on people's lower-cased mail, for the reset portal where the directory's sign-in
takes a mail as the name (passwordreset/flows.py `_by_mail`): one row read, however many
people there are. On every database the site runs on (both index the expression)."""

from django.db import migrations


def create(apps, schema_editor):
    table = apps.get_model("auth", "User")._meta.db_table
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS sspr_user_mail_lower ON {table} (LOWER(email))"
    )


def drop(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS sspr_user_mail_lower")


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0003_password_life"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create, drop)]
