"""What every form with a password field shares."""

from __future__ import annotations

from django import forms
from django.forms.boundfield import BoundField
from django.utils.translation import gettext_lazy as _

from .validators import MAX_LENGTH, bounded_password

# The list of rules above a new password's form (templates/includes/password_rules.html).
RULES_ID = "password-rules"


class _DescribedByTheRules(BoundField):
    @property
    def aria_describedby(self):
        return " ".join(filter(None, [RULES_ID, super().aria_describedby]))


def described_by_the_rules(field: forms.Field) -> None:
    """A new password's box is described by the rules listed above the form (a screen reader
    reads them with the box), then by its own errors; it has no hint of its own."""
    field.help_text = ""
    field.bound_field_class = _DescribedByTheRules


# What an empty box of the sign-in and password forms says, by the field's name.
ASKED_FOR = {
    "username": _("Type your username."),
    "password": _("Type your password."),
    "new_password1": _("Type a new password."),
    "new_password2": _("Type the new password again."),
}


# Django's own "This field is required", which every field starts with unless it names its own.
_GENERIC = forms.Field.default_error_messages["required"]


class BoundedPasswordsMixin:
    """Each password field of the form refuses a value longer than the site's maximum
    (passwords.validators.MAX_LENGTH) next to the field, before the value is hashed, judged
    or sent to a directory. No `maxlength` attribute: a browser would cut a pasted password
    short without saying so. An empty name or password box is asked for by what it holds
    (ASKED_FOR), unless the field names its own message."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            # A field with a shorter bound of its own (a temporary access pass) says its own.
            own_bound = getattr(field, "max_length", None)
            if isinstance(field.widget, forms.PasswordInput) and not (
                own_bound and own_bound <= MAX_LENGTH
            ):
                field.validators.append(bounded_password)
            if name in ASKED_FOR and field.error_messages.get("required") is _GENERIC:
                field.error_messages["required"] = ASKED_FOR[name]
