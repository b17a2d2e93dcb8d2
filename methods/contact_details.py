"""A person's phone numbers and email addresses, for the password rules: what anyone asking for a
code at the reset portal types, and so what a new password must not contain (methods/apps.py,
passwords.validators.ContactDetailsValidator). Read on every password change and strength
check, so their SQL is built once per connection (sspr_site/compiled_query.py)."""

from __future__ import annotations

import phonenumbers

from sspr_site.compiled_query import Values

from .models import AuthenticationEmail, AuthenticationPhone, OfficePhone

_PHONES = Values(lambda: AuthenticationPhone.objects.values_list("number"), "user")
_OFFICE = Values(lambda: OfficePhone.objects.values_list("number"), "user")
_EMAILS = Values(lambda: AuthenticationEmail.objects.values_list("email"), "user")


def contact_details(user_id: int) -> tuple[list[str], list[str]]:
    """(the national digits of each phone number, each email address) of the person."""
    numbers = []
    for (number,) in [*_PHONES.all(user_id), *_OFFICE.all(user_id)]:
        try:
            numbers.append(str(phonenumbers.parse(str(number), None).national_number))
        except phonenumbers.NumberParseException:
            continue
    return numbers, [str(email) for (email,) in _EMAILS.all(user_id)]
