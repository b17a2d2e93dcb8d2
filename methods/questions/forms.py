"""The security questions' forms: choosing and answering the questions at setup, one answer
for each question asked at reset."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from methods.forms import OnePassSelect, SecretTextInput

from .answers import MAX_LENGTH, MIN_LENGTH, normalise, shows_something, visible
from .models import SecurityQuestion


class CorrectableSecretInput(SecretTextInput):
    """An answer box that shows the typed answer again only while the person corrects their
    own form, and only when that answer was valid; never once the answers are saved."""

    show_value = False

    def format_value(self, value):
        return forms.TextInput.format_value(self, value) if self.show_value else None


class _ListedQuestions(ModelChoiceIterator):
    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for question in self.field.listed:
            yield self.choice(question)

    def __len__(self):
        return len(self.field.listed) + (self.field.empty_label is not None)


class QuestionField(forms.ModelChoiceField):
    """A choice among questions read once for the whole form (each select of its own would
    read the list again, and again to check the answer)."""

    iterator = _ListedQuestions
    # A form not sent draws the same list for everyone reading a language: kept once drawn,
    # by the questions it lists (sspr_site/form_renderer.py).
    choices_held_in = ("_queryset", "listed", "by_key")

    def __init__(self, *args, listed: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.listed = listed
        self.by_key = {str(question.pk): question for question in listed}

    def kept_choices(self) -> tuple:
        # A built-in question is shown in the reader's language (its __str__): the language is
        # in the key already, so its stored text and kind stand for it.
        return tuple((q.pk, q.text, q.builtin) for q in self.listed)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        question = self.by_key.get(str(value))
        if question is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return question


class QuestionsForm(forms.Form):
    """N distinct approved questions, N distinct answers; answers come back normalised."""

    def __init__(self, *args, count: int, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.count = count
        self.user = user
        questions = SecurityQuestion.objects.filter(active=True)
        listed = list(questions)
        for index in range(1, count + 1):
            self.fields[f"question_{index}"] = QuestionField(
                queryset=questions,
                listed=listed,
                label=_("Question %(index)d") % {"index": index},
                empty_label=_("Choose a question"),
                widget=OnePassSelect,
                error_messages={
                    "required": _("Choose a question."),
                    "invalid_choice": _("Choose one of the questions in the list."),
                },
            )
            self.fields[f"answer_{index}"] = forms.CharField(
                label=_("Answer %(index)d") % {"index": index},
                max_length=MAX_LENGTH,
                strip=False,
                widget=CorrectableSecretInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
                error_messages={
                    "required": _("Type an answer."),
                    "max_length": _("Use at most %(max)d characters.") % {"max": MAX_LENGTH},
                },
            )

    def pairs(self):
        return [
            (self[f"question_{index}"], self[f"answer_{index}"])
            for index in range(1, self.count + 1)
        ]

    def clean(self):
        cleaned = super().clean()
        seen_questions: set[int] = set()
        seen_answers: set[str] = set()
        forbidden = {visible(normalise(self.user.get_username()))}
        if self.user.email:
            forbidden.add(visible(normalise(self.user.email)))
        answers = []
        for index in range(1, self.count + 1):
            question = cleaned.get(f"question_{index}")
            raw = cleaned.get(f"answer_{index}")
            if question is not None:
                if question.pk in seen_questions:
                    self.add_error(
                        f"question_{index}",
                        _("You chose this question already. Pick a different one."),
                    )
                seen_questions.add(question.pk)
            if raw is None:
                continue
            answer = normalise(raw)
            # The rules read what shows: "par\u200bis" is "paris" to whoever looks (the hash
            # keeps such characters, which change how some scripts are drawn).
            shown = visible(answer)
            if not MIN_LENGTH <= len(shown) <= MAX_LENGTH:
                self.add_error(
                    f"answer_{index}",
                    _("Use between %(min)d and %(max)d characters.")
                    % {"min": MIN_LENGTH, "max": MAX_LENGTH},
                )
            elif not shows_something(shown):
                self.add_error(f"answer_{index}", _("Use letters or digits in your answer."))
            elif shown in forbidden:
                self.add_error(
                    f"answer_{index}", _("An answer cannot be your username or email address.")
                )
            elif question is not None and shown == visible(normalise(question.text)):
                self.add_error(f"answer_{index}", _("An answer cannot repeat its question."))
            elif shown in seen_answers:
                self.add_error(f"answer_{index}", _("Give a different answer to each question."))
            seen_answers.add(shown)
            if question is not None:
                answers.append((question, answer))
        if self.errors:
            # One wrong answer must not wipe out the others the person typed correctly.
            for index in range(1, self.count + 1):
                name = f"answer_{index}"
                self.fields[name].widget.show_value = name not in self.errors
        else:
            cleaned["answers"] = answers
        return cleaned


class AnswersForm(forms.Form):
    # A refusal names no one answer: each is marked (sspr_site/form_renderer.py).
    refused_as_a_whole = {"not_verified"}

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
