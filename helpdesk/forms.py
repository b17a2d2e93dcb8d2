from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class VerifyStartForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Check the caller with"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how to check the caller.")},
    )

    def __init__(self, *args, options, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = options
