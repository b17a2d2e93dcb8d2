"""The code family's forms: the number or address to prove, the way to send the code, and at
reset the whole registered number or address typed again. They validate input and nothing
more."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from methods.forms import OnePassSelect
from sspr_site.conf import app_settings as site_settings

from .email_addresses import canonical_email, names_a_host, same_address
from .phone_numbers import PhoneError, PhoneProblem, e164, parse, region_choices

PHONE_MESSAGES = {
    PhoneProblem.UNREADABLE: _(
        "Enter a phone number using digits, such as 07400 123456 or +44 7400 123456."
    ),
    PhoneProblem.IMPOSSIBLE: _(
        "This number cannot exist in the country chosen. Check the digits and the country."
    ),
    PhoneProblem.REGION_NOT_ALLOWED: _(
        "Your organisation does not accept phone numbers from this country."
    ),
    PhoneProblem.TYPE_NOT_ALLOWED: _(
        "This kind of number cannot receive codes. Use a personal mobile or landline number, "
        "not a premium-rate, shared-cost, free-phone or internet (VoIP) number."
    ),
    PhoneProblem.EXTENSION: _(
        "Codes cannot be passed on to an extension. Enter a direct line, without the extension."
    ),
}


class CountrySelect(OnePassSelect):
    """Some 245 countries, given by the form as text (the field lists them only to check a
    posted region)."""

    countries: tuple[tuple[str, str], ...] = ()

    def options(self) -> tuple[tuple[str, str], ...]:
        return self.countries

    def use_required_attribute(self, initial):
        return False  # the first option is "Choose a country"; the field is optional


class PhoneForm(forms.Form):
    region = forms.ChoiceField(
        label=_("Country or region"),
        help_text=_("Not needed when you type the number with + and the country code."),
        required=False,
        widget=CountrySelect,
    )
    number = forms.CharField(
        label=_("Phone number"),
        max_length=32,
        # Left to right on a right-to-left page too (README, "Languages").
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "dir": "ltr"}),
        error_messages={
            "required": PHONE_MESSAGES[PhoneProblem.UNREADABLE],
            "max_length": PHONE_MESSAGES[PhoneProblem.UNREADABLE],
        },
    )

    refuse_types = True  # premium-rate, VoIP...: refused when a user registers a number

    def __init__(self, *args, allowed_regions=(), channels=(), office: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed_regions = list(allowed_regions)
        # The person's office phone (E.164), which their authentication phone may not be.
        self.office = office
        # With more than one way to send the code, the person chooses it with the number: the
        # code goes out as the form is sent (the setup and the reset portal alike).
        if len(channels) > 1:
            self.fields["channel"] = forms.ChoiceField(
                label=_("How should we send the code?"),
                widget=forms.RadioSelect,
                choices=[(channel.value, channel.label) for channel in channels],
                initial=channels[0].value,
                error_messages={
                    "required": _("Choose how we should send the code."),
                    "invalid_choice": _("Choose one of the ways offered to send the code."),
                },
            )
        # Some 245 choices: the widget draws them from plain text (its markup kept per
        # language and choice); the field lists them only when it checks a posted region.
        countries = (("", str(_("Choose a country"))), *region_choices(self.allowed_regions))
        self.fields["region"].choices = lambda: countries
        self.fields["region"].widget.countries = countries
        default = site_settings.DEFAULT_PHONE_REGION
        if default and (not self.allowed_regions or default in self.allowed_regions):
            self.fields["region"].initial = default
        elif len(self.allowed_regions) == 1:
            self.fields["region"].initial = self.allowed_regions[0]

    def clean(self):
        cleaned = super().clean()
        number = checked_number(self, cleaned)
        if number and number == self.office:
            self.add_error(
                "number",
                _(
                    "This is your office phone. Your authentication phone must be another "
                    "phone: one phone counts as one way to prove who you are."
                ),
            )
        elif number:
            cleaned["destination"] = number
        return cleaned


def checked_number(form, cleaned: dict) -> str | None:
    """The number a phone form's `region` and `number` name, in E.164, checked against the
    form's allowed countries and kinds of number (docs/security.md §10); None, with the reason
    next to its field, when it cannot be used or nothing was typed. The person's form and the
    admin's share it."""
    raw = cleaned.get("number")
    if not raw:
        return None
    region = cleaned.get("region") or None
    if region is None and not raw.strip().startswith("+"):
        form.add_error(
            "region", _("Choose the country, or type the number starting with + and its code.")
        )
        return None
    try:
        number = parse(
            raw,
            region=region,
            allowed_regions=form.allowed_regions,
            refuse_types=form.refuse_types,
        )
    except PhoneError as exc:
        message = PHONE_MESSAGES[exc.problem]
        if exc.problem == PhoneProblem.TYPE_NOT_ALLOWED and not form.refuse_types:
            # A desk line (the office phone) may be VoIP: only these kinds are refused.
            message = _(
                "Premium-rate, shared-cost and free-phone numbers cannot be an office phone."
            )
        if exc.problem == PhoneProblem.IMPOSSIBLE and raw.strip().startswith("+"):
            # The country came from the code after "+" (which wins over the list).
            message = _(
                "This number cannot exist in the country its code names. Check the digits and "
                "the code after +."
            )
        form.add_error("number", message)
        return None
    return e164(number)


class ChannelForm(forms.Form):
    """Which way to send the code; each choice is a submit button on the page."""

    channel = forms.ChoiceField(label=_("How should we send the code?"))

    def __init__(self, *args, channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(channel.value, channel.label) for channel in channels]
        self.fields["channel"].error_messages["invalid_choice"] = _(
            "Choose one of the ways offered to send the code."
        )


class CanonicalEmailField(forms.EmailField):
    """An email field whose value is the canonical form (email_addresses.py). One message for
    one mistake: an address too long is said to be too long, not also to be no address."""

    def to_python(self, value):
        return canonical_email(super().to_python(value))

    def validate(self, value):
        super().validate(value)
        if value and names_a_host(value):
            raise forms.ValidationError(
                _("Use an address with a domain name, such as name@example.org."),
                code="host_address",
            )

    def run_validators(self, value):
        # As Django's field does, but the first validator that refuses is the one message.
        if value in self.empty_values:
            return
        for validator in self.validators:
            try:
                validator(value)
            except forms.ValidationError as error:
                if getattr(error, "code", None) in self.error_messages:
                    error.message = self.error_messages[error.code]
                raise forms.ValidationError(error.error_list) from None


class EmailForm(forms.Form):
    email = CanonicalEmailField(
        label=_("Email address"),
        max_length=254,
        help_text=_(
            "A personal address, not your work address: you must be able to read it without "
            "the password you may need to reset."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Type your email address."),
            "invalid": _("Type an email address such as name@example.org."),
            "max_length": _("At most %(limit_value)d characters."),
        },
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if same_address(self.user.email, email):
            raise forms.ValidationError(
                _("This is your account's own address. Use another one you can read without it."),
                code="own_address",
            )
        self.cleaned_data["destination"] = email
        return email


class ResetPhoneForm(PhoneForm):
    """The full number the person registered; any real number may be typed here. `hinted`:
    drawn beside the number's masked hint (the methods page, once a method passed);
    `office_line`: the office phone's, which the person did not register themselves.
    `send_label` names the button: how the code comes, when it can come only one way."""

    refuse_types = False

    def __init__(self, *args, hinted: bool = False, office_line: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if office_line:
            help_text = (
                _("Type your whole office phone number.")
                if hinted
                else _(
                    "Type your whole office phone number. We do not show it, to protect your "
                    "account."
                )
            )
        else:
            help_text = (
                _("Type the whole number you registered.")
                if hinted
                else _(
                    "Type the whole number you registered. We do not show it, to protect your "
                    "account."
                )
            )
        self.fields["number"].help_text = help_text
        channels = list(kwargs.get("channels", ()))
        if len(channels) == 1:
            self.send_label = channels[0].send_label


class ResetEmailForm(EmailForm):
    def __init__(self, *args, hinted: bool = False, **kwargs):
        super().__init__(*args, user=None, **kwargs)
        self.fields["email"].help_text = (
            _("Type the whole alternate address you registered.")
            if hinted
            else _(
                "Type the whole alternate address you registered. We do not show it, to "
                "protect your account."
            )
        )

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        self.cleaned_data["destination"] = email
        return email
