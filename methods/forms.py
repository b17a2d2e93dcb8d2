"""Forms for setting up methods. They validate input and nothing more."""

from __future__ import annotations

import functools
import re

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from sspr_site.conf import app_settings as site_settings

from .answers import MAX_LENGTH, MIN_LENGTH, normalise
from .emails import canonical_email
from .models import SecurityQuestion
from .phones import PhoneError, PhoneProblem, e164, parse, region_choices

PHONE_MESSAGES = {
    PhoneProblem.UNREADABLE: _(
        "Enter a phone number using digits, such as 07400 123456 or +44 7400 123456."
    ),
    PhoneProblem.IMPOSSIBLE: _(
        "This number cannot exist in the country chosen. Check the digits and the country."
    ),
    PhoneProblem.REGION_NOT_ALLOWED: _(
        "Your organisation does not accept phone numbers from this country."
    ),
    PhoneProblem.TYPE_NOT_ALLOWED: _(
        "This kind of number cannot receive codes. Use a personal mobile or landline number, "
        "not a premium-rate, shared-cost, free-phone or internet (VoIP) number."
    ),
}


class OnePassSelect(forms.Select):
    """A select whose options are written in one pass: the same markup as Django's select,
    without rendering a template for each option (for long lists that was most of a page's
    time). The options' markup is kept for each list and choice already drawn."""

    template_name = "methods/widgets/one_pass_select.html"

    def options(self) -> tuple[tuple[str, str], ...]:
        # Labels as text: the kept markup is then keyed by the language it is written in.
        return tuple((str(value), str(label)) for value, label in self.choices)

    def get_context(self, name, value, attrs):
        context = forms.Widget.get_context(self, name, value, attrs)
        chosen = next(iter(self.format_value(value)), None)
        context["widget"]["options_html"] = _options_html(self.options(), chosen)
        return context


class CountrySelect(OnePassSelect):
    """Some 245 countries, given by the form as text (the field lists them only to check a
    posted region)."""

    countries: tuple[tuple[str, str], ...] = ()

    def options(self) -> tuple[tuple[str, str], ...]:
        return self.countries

    def use_required_attribute(self, initial):
        return False  # the first option is "Choose a country"; the field is optional


@functools.lru_cache(maxsize=256)
def _options_html(choices: tuple[tuple[str, str], ...], chosen: str | None) -> str:
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (code, mark_safe(" selected") if code == chosen else "", label)  # noqa: S308
            for code, label in choices
        ),
    )


class PhoneForm(forms.Form):
    region = forms.ChoiceField(
        label=_("Country or region"),
        help_text=_("Not needed when you type the number with + and the country code."),
        required=False,
        widget=CountrySelect,
    )
    number = forms.CharField(
        label=_("Phone number"),
        max_length=32,
        # Left to right on a right-to-left page too (README, "Languages").
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "dir": "ltr"}),
        error_messages={"max_length": PHONE_MESSAGES[PhoneProblem.UNREADABLE]},
    )

    refuse_types = True  # premium-rate, VoIP...: refused when a user registers a number

    def __init__(self, *args, allowed_regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed_regions = list(allowed_regions)
        # Some 245 choices: the widget draws them from plain text (its markup kept per
        # language and choice); the field lists them only when it checks a posted region.
        countries = (("", str(_("Choose a country"))), *region_choices(self.allowed_regions))
        self.fields["region"].choices = lambda: countries
        self.fields["region"].widget.countries = countries
        default = site_settings.DEFAULT_PHONE_REGION
        if default and (not self.allowed_regions or default in self.allowed_regions):
            self.fields["region"].initial = default
        elif len(self.allowed_regions) == 1:
            self.fields["region"].initial = self.allowed_regions[0]

    def clean(self):
        cleaned = super().clean()
        number = checked_number(self, cleaned)
        if number:
            cleaned["destination"] = number
        return cleaned


def checked_number(form, cleaned: dict) -> str | None:
    """The number a phone form's `region` and `number` name, in E.164, checked against the
    form's allowed countries and kinds of number (docs/security.md §10); None, with the reason
    next to its field, when it cannot be used or nothing was typed. The person's form and the
    admin's share it."""
    raw = cleaned.get("number")
    if not raw:
        return None
    region = cleaned.get("region") or None
    if region is None and not raw.strip().startswith("+"):
        form.add_error(
            "region", _("Choose the country, or type the number starting with + and its code.")
        )
        return None
    try:
        number = parse(
            raw,
            region=region,
            allowed_regions=form.allowed_regions,
            refuse_types=form.refuse_types,
        )
    except PhoneError as exc:
        form.add_error("number", PHONE_MESSAGES[exc.problem])
        return None
    return e164(number)


class ChannelForm(forms.Form):
    """Which way to send the code; each choice is a submit button on the page."""

    channel = forms.ChoiceField(label=_("How should we send the code?"))

    def __init__(self, *args, channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(channel.value, channel.label) for channel in channels]
        self.fields["channel"].error_messages["invalid_choice"] = _(
            "Choose one of the ways offered to send the code."
        )


class CanonicalEmailField(forms.EmailField):
    """An email field whose value is the canonical form (methods.emails)."""

    def to_python(self, value):
        return canonical_email(super().to_python(value))


class EmailForm(forms.Form):
    email = CanonicalEmailField(
        label=_("Email address"),
        max_length=254,
        help_text=_(
            "A personal address, not your work address: you must be able to read it without "
            "the password you may need to reset."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if self.user.email and email.casefold() == canonical_email(self.user.email).casefold():
            raise forms.ValidationError(
                _("This is your account's own address. Use another one you can read without it."),
                code="own_address",
            )
        self.cleaned_data["destination"] = email
        return email


CODE_DIGITS = re.compile(r"^\d{6}$")


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=20,
        help_text=_("The 6 digits we sent you."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "dir": "ltr",
                "pattern": r"[0-9 ]*",
                "size": "8",
            }
        ),
        error_messages={"max_length": _("Enter the 6 digits of the code.")},
    )

    def clean_code(self):
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not CODE_DIGITS.match(code):
            raise forms.ValidationError(_("Enter the 6 digits of the code."), code="format")
        return code


class SecretTextInput(forms.TextInput):
    """A text box that never writes its value back into the page."""

    def format_value(self, value):
        return None


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

    def __init__(self, *args, listed: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.listed = listed
        self.by_key = {str(question.pk): question for question in listed}

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
        forbidden = {normalise(self.user.get_username())}
        if self.user.email:
            forbidden.add(normalise(self.user.email))
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
            if not MIN_LENGTH <= len(answer) <= MAX_LENGTH:
                self.add_error(
                    f"answer_{index}",
                    _("Use between %(min)d and %(max)d characters.")
                    % {"min": MIN_LENGTH, "max": MAX_LENGTH},
                )
            elif answer in forbidden:
                self.add_error(
                    f"answer_{index}", _("An answer cannot be your username or email address.")
                )
            elif question is not None and answer == normalise(question.text):
                self.add_error(f"answer_{index}", _("An answer cannot repeat its question."))
            elif answer in seen_answers:
                self.add_error(f"answer_{index}", _("Give a different answer to each question."))
            seen_answers.add(answer)
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
