"""The office phone: the directory number. Only administrators set it; at reset it gets a call
with the code."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from delivery.outbox import Message
from methods.base import MethodState, MethodStatus
from methods.masking import mask_phone
from methods.models import MethodKind

from .method import CodeMethod, phone_allowed, phone_code_message
from .models import Channel, OfficePhone
from .phone_numbers import country_prefix, international


class OfficePhoneMethod(CodeMethod):
    kind = MethodKind.OFFICE_PHONE
    proof_strength = 20
    slug = "office-phone"
    key = "office"
    label = MethodKind.OFFICE_PHONE.label
    summary = _("Your desk number. Only your administrator can set or change it.")
    user_managed = False
    caller_check = ""  # the helpdesk can call a desk number itself
    model = OfficePhone
    field = "number"
    admin_inline = "methods.admin.OfficePhoneInline"
    related_name = "office_phone"
    start_label = _("Enter your office number")

    def channels(self, policy) -> list[Channel]:
        return [Channel.VOICE]

    def display(self, destination: str) -> str:
        return international(destination)

    def mask(self, destination: str) -> str:
        # Masked outside its owner's pages and the admin, as every phone (docs/security.md §20).
        return mask_phone(destination)

    def limit_counters(self, destination: str) -> dict[str, str]:
        return {"destination": destination, "prefix": country_prefix(destination)}

    def destination_allowed(self, destination: str, policy) -> bool:
        return phone_allowed(destination, policy, refuse_types=False)

    def code_message(
        self, *, destination: str, channel: str, code: str, helpdesk: bool = False
    ) -> Message:
        return phone_code_message(
            destination=destination,
            channel=Channel.VOICE,
            code=code,
            masked=self.mask(destination),
            helpdesk=helpdesk,
        )

    def status(self, methods, policy) -> MethodStatus:
        office = methods[self.key]
        if office is None:
            return MethodStatus(self, MethodState.NOT_SET)
        number = str(office.number)
        return MethodStatus(
            self,
            MethodState.SET_BY_ADMIN,
            value=international(number),
            masked=international(number),
            updated_at=office.updated_at,
        )

    def reset_destination(self, methods) -> str | None:
        office = methods[self.key]
        return str(office.number) if office else None

    def unverify(self, *, user, destination: str) -> bool:
        return False  # administrators own the office phone

    def remove(self, user) -> tuple[bool, list[str]]:
        return False, []  # administrators own the office phone

    def count_condition(self, policy) -> Q:
        return Q(office_phone__isnull=False)
