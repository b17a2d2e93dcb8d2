# The policy moved to its own app (policy); its table stays where it was.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0007_reminders"),
        ("policy", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Policy")],
            database_operations=[],
        ),
    ]
