"""The Helpdesk group, with the one permission the /helpdesk/ pages ask for."""

from django.db import migrations


def create_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="helpdesk", model="helpdeskaccess")
    permission, _ = Permission.objects.get_or_create(
        codename="use_helpdesk",
        content_type=content_type,
        defaults={"name": "Can read registration status at /helpdesk/"},
    )
    group, _ = Group.objects.get_or_create(name="Helpdesk")
    group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
