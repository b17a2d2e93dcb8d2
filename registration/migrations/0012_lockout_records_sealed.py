"""The sign-in lockout's records as directory/lockout.py keeps them now: a keyed digest of the
name and none of the failed form (docs/security.md §39). Records written before kept the name
and the form's fields (a password change's current and new passwords among them)."""

from django.db import migrations
from django.db.models import Q

from directory.lockout import lockout_key


def seal_lockout_records(apps, schema_editor):
    AccessAttempt = apps.get_model("axes", "AccessAttempt")
    # A record with no name locks nothing (a name is the only lockout parameter).
    AccessAttempt.objects.filter(Q(username__isnull=True) | Q(username="")).delete()
    # Read whole before any is changed: an update must not move a row the reading meets again.
    rows = list(AccessAttempt.objects.order_by("pk").values_list("pk", "username"))
    for pk, username in rows:
        AccessAttempt.objects.filter(pk=pk).update(
            username=lockout_key(username), post_data="", get_data=""
        )


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0011_checked_import"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(seal_lockout_records, migrations.RunPython.noop)]
