"""The sign-in lockout's records as directory/lockout.py keeps them now: a keyed digest of the
name and none of the failed form (docs/security.md §39). Records written before kept the name
and the form's fields (a password change's current and new passwords among them)."""

from django.db import migrations

from directory.lockout import lockout_key


def seal_lockout_records(apps, schema_editor):
    AccessAttempt = apps.get_model("axes", "AccessAttempt")
    for attempt in AccessAttempt.objects.only("pk", "username").iterator():
        AccessAttempt.objects.filter(pk=attempt.pk).update(
            username=lockout_key(attempt.username or ""), post_data="", get_data=""
        )


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0011_checked_import"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(seal_lockout_records, migrations.RunPython.noop)]
