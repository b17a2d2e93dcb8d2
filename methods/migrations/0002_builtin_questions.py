"""Built-in approved security questions. Administrators can retire any of them or add their own."""

from django.db import migrations

from methods.questions.builtin import QUESTIONS


def add_questions(apps, schema_editor):
    SecurityQuestion = apps.get_model("methods", "SecurityQuestion")
    for text in QUESTIONS:
        SecurityQuestion.objects.get_or_create(text=text, defaults={"builtin": True, "active": True})


def remove_questions(apps, schema_editor):
    SecurityQuestion = apps.get_model("methods", "SecurityQuestion")
    SecurityQuestion.objects.filter(text__in=QUESTIONS, builtin=True).delete()


class Migration(migrations.Migration):
    dependencies = [("methods", "0001_initial")]

    operations = [migrations.RunPython(add_questions, remove_questions)]
