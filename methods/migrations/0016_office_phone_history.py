"""The admin's history of people's pages named office phones by their number (the model's text
was the number), and kept it after the phone was removed: such entries now name the phone as
its text does since, "Office phone of <user>" (docs/security.md §21)."""

import json
import re

from django.db import migrations

PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")


def scrub(apps, schema_editor):
    LogEntry = apps.get_model("admin", "LogEntry")
    for entry in LogEntry.objects.filter(change_message__contains='"object"').iterator():
        try:
            messages = json.loads(entry.change_message)
        except ValueError:
            continue
        changed = False
        for message in messages if isinstance(messages, list) else []:
            for action in message.values() if isinstance(message, dict) else []:
                if isinstance(action, dict) and PHONE.match(str(action.get("object", ""))):
                    action["object"] = f"Office phone of {entry.object_repr}"
                    changed = True
        if changed:
            entry.change_message = json.dumps(messages)
            entry.save(update_fields=["change_message"])


class Migration(migrations.Migration):
    dependencies = [
        ("methods", "0015_compatibility_email_domains"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]
