from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _

from helpdesk.forms import CALLER_CHECK, CallerVerifiedForm
from passwords.forms import BoundedPasswordsMixin
from registration.forms import BoundedUsernameMixin

# Two issue forms on one caller check (two tabs, sent together or one after the other): one
# pass; the other form says so (helpdesk.views.spend_check, mark_check_spent).
CHECK_SPENT = _(
    "A pass was asked for on this caller check already: nothing new was issued. Check the "
    "caller again to issue another."
)


class IssueForm(CallerVerifiedForm):
    """How the caller was verified, before a pass is issued (helpdesk.forms). `spent`: this
    session's check was spent on a pass already (helpdesk.views.check_was_spent)."""

    def __init__(self, *args, spent: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.spent = spent

    def clean_verification(self):
        value = self.cleaned_data["verification"]
        if value == CALLER_CHECK and not self.check_passed and self.spent:
            raise forms.ValidationError(CHECK_SPENT, code="check_spent")
        return super().clean_verification()


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
