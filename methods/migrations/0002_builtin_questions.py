"""Built-in approved security questions. Administrators can retire any of them or add their own."""

from django.db import migrations

QUESTIONS = [
    "What was the name of the street you lived on when you were eight?",
    "What was the first name of your first manager?",
    "In which town did your parents meet?",
    "What was the name of your first stuffed toy?",
    "What was the surname of your favourite primary school teacher?",
    "What was the make and model of the first car you owned?",
    "What was the name of the first pet you looked after?",
    "Which musical instrument did you first learn to play?",
    "What was the first concert you went to?",
    "In which city did you spend your first night away from home?",
    "What was the name of the hospital where you were born?",
    "What was the first name of your oldest cousin?",
    "What was the name of your favourite childhood book?",
    "Which sports team did you support as a child?",
    "What was the name of the first company you worked for?",
    "What was your childhood nickname?",
    "What was the first film you saw at a cinema?",
    "What was the name of the village or town of your first holiday?",
    "What was the middle name of your oldest sibling?",
    "What did you want to become when you were ten?",
    "What was the name of your secondary school's mascot or house?",
    "What was the first dish you learned to cook?",
]


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
