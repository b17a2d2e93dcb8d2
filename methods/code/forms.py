"""The code family's reset forms: the whole registered number or address, typed again."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from methods.forms import EmailForm, PhoneForm


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
