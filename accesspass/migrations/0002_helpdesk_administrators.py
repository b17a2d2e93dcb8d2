"""The Helpdesk administrators group: the second person who approves a temporary access pass
for an administrator account. Its members also use the helpdesk's pages."""

from django.db import migrations


def create_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    passes, _ = ContentType.objects.get_or_create(app_label="accesspass", model="accesspass")
    approve, _ = Permission.objects.get_or_create(
        codename="approve_access_pass",
        content_type=passes,
        defaults={"name": "Can approve temporary access passes for administrators"},
    )
    helpdesk, _ = ContentType.objects.get_or_create(app_label="helpdesk", model="helpdeskaccess")
    use, _ = Permission.objects.get_or_create(
        codename="use_helpdesk",
        content_type=helpdesk,
        defaults={"name": "Can read registration status at /helpdesk/"},
    )
    group, _ = Group.objects.get_or_create(name="Helpdesk administrators")
    group.permissions.add(approve, use)


class Migration(migrations.Migration):
    dependencies = [
        ("accesspass", "0001_initial"),
        ("helpdesk", "0002_helpdesk_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
