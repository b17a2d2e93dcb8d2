"""Create the single policy row with its defaults, so its admin page exists from the start."""

from django.db import migrations


def create_policy(apps, schema_editor):
    Policy = apps.get_model("registration", "Policy")
    Policy.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("registration", "0001_initial")]

    operations = [migrations.RunPython(create_policy, migrations.RunPython.noop)]
