from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class VerifyStartForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Send the caller a code by"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how to send the code.")},
    )

    def __init__(self, *args, options, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = options
