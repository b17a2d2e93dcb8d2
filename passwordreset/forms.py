"""Forms of the reset portal. They validate input and nothing more."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from methods.forms import CodeForm, EmailForm, PhoneForm, SecretTextInput
from passwords.forms import BoundedPasswordsMixin

from .state import Action

__all__ = ["ActionForm", "AnswersForm", "CodeForm", "NewPasswordForm", "StartForm"]


class StartForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    altcha = forms.CharField(required=False, widget=forms.HiddenInput)


class ActionForm(forms.Form):
    action = forms.ChoiceField(
        label=_("What do you need?"),
        widget=forms.RadioSelect,
        choices=[
            (Action.RESET, _("I forgot my password: set a new one")),
            (Action.UNLOCK, _("My account is locked, but I know my password: unlock it")),
        ],
        error_messages={"required": _("Choose one.")},
    )


class ResetPhoneForm(PhoneForm):
    """The full number the person registered; any real number may be typed here."""

    refuse_types = False

    def __init__(self, *args, channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["number"].help_text = _(
            "Type the whole number you registered. We do not show it, to protect your account."
        )
        if channels:
            self.fields["channel"] = forms.ChoiceField(
                label=_("How should we send the code?"),
                widget=forms.RadioSelect,
                choices=[(channel.value, channel.label) for channel in channels],
                initial=channels[0].value,
            )


class ResetEmailForm(EmailForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, user=None, **kwargs)
        self.fields["email"].help_text = _(
            "Type the whole alternate address you registered. We do not show it, to protect "
            "your account."
        )

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        self.cleaned_data["destination"] = email
        return email


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


class PasswordlessForm(forms.Form):
    """The unlock step: one button; errors from the account store are shown above it."""


class NewPasswordForm(BoundedPasswordsMixin, SetPasswordForm):
    """Django's own: the new password twice, checked by the configured validators. What the
    validators say is shown next to the new password, where the person typed it."""

    def clean(self):
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        return forms.Form.clean(self)

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].help_text = ""  # the rules are listed above the form
        for name in ("new_password1", "new_password2"):
            self.fields[name].widget.attrs["data-reveal"] = "true"
