"""The office phone: the directory number. Only administrators set it; at reset it gets a call
with the code."""

from __future__ import annotations

from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from delivery.outbox import Message
from methods.base import MethodState, MethodStatus
from methods.masking import mask_phone
from methods.models import MethodKind

from .method import CodeMethod, phone_allowed, phone_code_message
from .models import Channel, OfficePhone
from .phone_numbers import InPolicyCountries, country_prefix, international


class OfficePhoneMethod(InPolicyCountries, CodeMethod):
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

    @staticmethod
    def _same_as_phone(methods) -> bool:
        """The office number is the verified authentication phone's: one handset, which
        counts once, as that phone (docs/security.md rule 14). However it came to be: the
        admin, the import or the directory set the office phone later, or an administrator
        prepopulated the authentication phone."""
        office, phone = methods.records.get("office"), methods.records.get("phone")
        return bool(
            office is not None
            and phone is not None
            and phone.verified_at
            and str(phone.number) == str(office.number)
        )

    def status(self, methods, policy) -> MethodStatus:
        office = methods[self.key]
        if office is None:
            return MethodStatus(self, MethodState.NOT_SET)
        number = str(office.number)
        state = MethodState.SET_BY_ADMIN
        if self._same_as_phone(methods):
            state = MethodState.SAME_NUMBER
        elif not self.still_allowed(number, policy):
            state = MethodState.NOT_ALLOWED
        return MethodStatus(
            self,
            state,
            value=international(number),
            masked=international(number),
            updated_at=office.updated_at,
        )

    def reset_destination(self, methods) -> str | None:
        office = methods[self.key]
        # No code to the office line for a number that counts already as the phone.
        return str(office.number) if office and not self._same_as_phone(methods) else None

    def still_registered(self, user_id: int, destination: str) -> bool:
        return self.model.objects.filter(user_id=user_id, number=destination).exists()

    def unverify(self, *, user, destination: str) -> bool:
        return False  # administrators own the office phone

    def remove(self, user) -> tuple[bool, list[str]]:
        return False, []  # administrators own the office phone

    def count_condition(self, policy) -> Q:
        return (
            Q(office_phone__isnull=False)
            & ~Q(
                authentication_phone__verified_at__isnull=False,
                authentication_phone__number=F("office_phone__number"),
            )
            & self.region_condition(policy)
        )
