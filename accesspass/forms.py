from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _

from passwords.forms import BoundedPasswordsMixin
from registration.forms import BoundedUsernameMixin

from .models import Verification

NOTE_MAX = 500


class IssueForm(forms.Form):
    """How the caller was verified: a required choice and a note."""

    verification = forms.ChoiceField(
        label=_("How you verified the person"),
        widget=forms.RadioSelect,
        choices=[],
        error_messages={"required": _("Choose how you verified the person.")},
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "What you checked, for example the document you saw or the question you asked. "
            "Never a password, a code or an answer."
        ),
        error_messages={
            "required": _("Write a note about how you verified the person."),
            "max_length": _("At most %(limit_value)d characters."),
        },
    )

    def __init__(self, *args, check_label: str | None, **kwargs):
        """`check_label` names the caller check that passed in this session, if any."""
        super().__init__(*args, **kwargs)
        self.check_passed = check_label is not None
        caller = (
            _("Caller check passed just now: %(method)s") % {"method": check_label}
            if check_label
            else Verification.CALLER_CHECK.label
        )
        self.fields["verification"].choices = [
            (Verification.CALLER_CHECK.value, caller),
            (Verification.IN_PERSON.value, Verification.IN_PERSON.label),
        ]

    def clean_verification(self):
        value = self.cleaned_data["verification"]
        if value == Verification.CALLER_CHECK and not self.check_passed:
            raise forms.ValidationError(
                _(
                    "No caller check passed for this person in your session in the last "
                    "15 minutes. Verify the caller first, or check their identity in person."
                ),
                code="no_check",
            )
        return value

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if "\x00" in note:
            raise forms.ValidationError(_("The note has a character that cannot be kept."))
        if not note:
            raise forms.ValidationError(_("Write a note about how you verified the person."))
        return note


class PassSignInForm(BoundedPasswordsMixin, BoundedUsernameMixin, forms.Form):
    """The username and the pass. A wrong pass, an unknown name and a spent pass read the same."""

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    access_pass = forms.CharField(
        label=_("Temporary access pass"),
        strip=True,
        max_length=64,
        help_text=_("As the helpdesk gave it to you; dashes and spaces do not matter."),
        error_messages={
            "required": _("Type the temporary access pass the helpdesk gave you."),
            "max_length": _(
                "A temporary access pass is much shorter than that: type it as the helpdesk "
                "gave it to you."
            ),
        },
        # Pasted or filled in by a password manager (WCAG 2.2, 3.3.8).
        widget=forms.PasswordInput(
            attrs={"autocomplete": "one-time-code", "spellcheck": "false", "dir": "ltr"}
        ),
    )

    error_messages = {
        "invalid_login": _(
            "The username or the temporary access pass is not right. Check the username, and "
            "the pass as the helpdesk gave it to you; it may also have been used or have ended."
        )
    }

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = None

    def clean(self):
        cleaned = super().clean()
        username, typed = cleaned.get("username"), cleaned.get("access_pass")
        if username and typed:
            self.user = authenticate(self.request, username=username, access_pass=typed)
            if self.user is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_login"], code="invalid_login"
                )
        return cleaned
