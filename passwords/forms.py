"""What every form with a password field shares."""

from __future__ import annotations

from django import forms

from .validators import MAX_LENGTH, bounded_password


class BoundedPasswordsMixin:
    """Each password field of the form refuses a value longer than the site's maximum
    (passwords.validators.MAX_LENGTH) next to the field, before the value is hashed, judged
    or sent to a directory. No `maxlength` attribute: a browser would cut a pasted password
    short without saying so."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # A field with a shorter bound of its own (a temporary access pass) says its own.
            own_bound = getattr(field, "max_length", None)
            if isinstance(field.widget, forms.PasswordInput) and not (
                own_bound and own_bound <= MAX_LENGTH
            ):
                field.validators.append(bounded_password)
