from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from methods.forms import SecretTextInput

from .codes import ALPHABET, LENGTH, normalise

FORMAT = _("Enter one recovery code: 12 letters and digits, such as abcd-efgh-jk23.")


class RecoveryCodeForm(forms.Form):
    """One code, typed at /passwordreset (methods/pages.py, the "type a proof" page)."""

    proof_field = "proof"
    title = _("Use a recovery code")
    lead = _(
        "Enter one of the recovery codes you printed or saved for this account. Each code "
        "works once; cross it off when you have used it."
    )

    proof = forms.CharField(
        label=_("Recovery code"),
        max_length=40,
        help_text=_("12 letters and digits; the hyphens and spaces do not matter."),
        widget=SecretTextInput(
            attrs={
                # Pasted or filled in by a password manager (WCAG 2.2, 3.3.8).
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "dir": "ltr",
            }
        ),
        error_messages={"required": FORMAT, "max_length": FORMAT},
    )

    def clean_proof(self):
        code = normalise(self.cleaned_data["proof"])
        if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
            raise forms.ValidationError(FORMAT, code="format")
        return code


class NewSetForm(forms.Form):
    """One button: make a new set (replacing the old one). It carries the stamp of the set it
    replaces (codes.standing), so that sent again it makes no second set."""

    replacing = forms.CharField(required=False, widget=forms.HiddenInput)
