"""The authentication phone: a code by text message or by a call that reads it out."""

from __future__ import annotations

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberFormat

from delivery.outbox import Message
from methods.masking import mask_phone
from methods.models import MethodKind

from .forms import PhoneForm
from .method import CodeMethod, phone_allowed, phone_code_message
from .models import AuthenticationPhone, Channel
from .phone_numbers import InPolicyCountries, country_prefix, international


class AuthenticationPhoneMethod(InPolicyCountries, CodeMethod):
    kind = MethodKind.AUTHENTICATION_PHONE
    proof_strength = 20
    slug = "phone"
    key = "phone"
    label = MethodKind.AUTHENTICATION_PHONE.label
    summary = _(
        "A mobile phone you keep with you, other than your office phone. We send a code by text "
        "message or call you and read it out."
    )
    enabled_by_default = True
    option_fields = {
        "sms": forms.BooleanField(
            label=_("codes by text message"),
            required=False,
            initial=True,
            help_text=_("Users may receive codes by text message."),
        ),
        "voice": forms.BooleanField(
            label=_("codes by voice call"),
            required=False,
            initial=True,
            help_text=_("Users may receive codes by a call that reads the code out."),
        ),
    }
    model = AuthenticationPhone
    field = "number"
    admin_inline = "methods.admin.AuthenticationPhoneInline"
    related_name = "authentication_phone"
    start_label = _("Enter your number")

    def clean_options(self, options: dict) -> dict:
        if options.get("enabled") and not (options.get("sms") or options.get("voice")):
            raise ValidationError(
                {"voice": _("Choose text message, voice call or both, or turn the method off.")}
            )
        return options

    def is_enabled(self, policy) -> bool:
        return super().is_enabled(policy) and bool(self.channels(policy))

    def start_form(self, data, *, user, policy, previous: str | None = None, methods=None):
        initial = {}
        if previous:
            number = phonenumbers.parse(previous, None)
            initial = {
                "region": phonenumbers.region_code_for_number(number),
                "number": phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
            }
        # Not the office phone's number: one phone would count as two methods.
        office = methods.records.get("office") if methods is not None else None
        return PhoneForm(
            data,
            allowed_regions=policy.region_list,
            initial=initial,
            channels=self.channels(policy),
            office=str(office.number) if office is not None else None,
        )

    def channels(self, policy) -> list[Channel]:
        enabled = [
            (self.option(policy, "sms"), Channel.SMS),
            (self.option(policy, "voice"), Channel.VOICE),
        ]
        return [channel for on, channel in enabled if on]

    def display(self, destination: str) -> str:
        return international(destination)

    def mask(self, destination: str) -> str:
        return mask_phone(destination)

    def limit_counters(self, destination: str) -> dict[str, str]:
        return {"destination": destination, "prefix": country_prefix(destination)}

    def destination_allowed(self, destination: str, policy) -> bool:
        return phone_allowed(destination, policy, refuse_types=True)

    def count_condition(self, policy) -> Q:
        return super().count_condition(policy) & self.region_condition(policy)

    def code_message(
        self, *, destination: str, channel: str, code: str, helpdesk: bool = False
    ) -> Message:
        return phone_code_message(
            destination=destination,
            channel=channel,
            code=code,
            masked=self.mask(destination),
            helpdesk=helpdesk,
        )
