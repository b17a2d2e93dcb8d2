"""The security questions' reset form: one answer for each question asked."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from methods.forms import SecretTextInput


class AnswersForm(forms.Form):
    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            self.fields[f"answer_{question.pk}"] = forms.CharField(
                label=str(question),
                max_length=200,
                strip=False,
                widget=SecretTextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
                error_messages={"required": _("Type an answer.")},
            )

    def answers(self) -> dict[int, str]:
        return {
            question.pk: self.cleaned_data[f"answer_{question.pk}"] for question in self.questions
        }
