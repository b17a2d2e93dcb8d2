"""The recovery methods, described once. Pages, flows and (later) the reset portal and the
helpdesk iterate over REGISTRY instead of switching on method names.

A new method is a new Method subclass and one entry in REGISTRY.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Count, Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberFormat

from delivery.outbox import Message

from .forms import EmailForm, PhoneForm
from .masking import mask_email, mask_phone
from .models import (
    AuthenticationEmail,
    AuthenticationPhone,
    Channel,
    MethodKind,
    OfficePhone,
)
from .phones import PhoneError, country_prefix, international, parse


class PolicyLike(Protocol):
    office_phone_enabled: bool
    phone_sms_enabled: bool
    phone_voice_enabled: bool
    email_enabled: bool
    questions_enabled: bool
    questions_required: int
    region_list: list[str]


class MethodState(models.TextChoices):
    NOT_SET = "not_set", _("Not set up")
    WAITING = "waiting", _("Waiting for your confirmation")
    VERIFIED = "verified", _("Verified")
    SET_BY_ADMIN = "set_by_admin", _("Set by your administrator")
    INCOMPLETE = "incomplete", _("More answers needed")


@dataclass(frozen=True)
class UserMethods:
    """Everything registered for one user, loaded in one query."""

    user: Any
    phone: AuthenticationPhone | None
    email: AuthenticationEmail | None
    office: OfficePhone | None
    answer_count: int
    answers_updated_at: datetime | None

    @classmethod
    def load(cls, user) -> UserMethods:
        return cls.load_or_none(user.pk)

    @classmethod
    def load_or_none(cls, user_id: int) -> UserMethods:
        """Like load(), by id, with the same query whether or not the user exists."""
        row = (
            get_user_model()
            .objects.select_related("authentication_phone", "authentication_email", "office_phone")
            .annotate(
                answer_count=Count("security_answers"),
                answers_updated_at=Max("security_answers__created_at"),
            )
            .filter(pk=user_id)
            .first()
        )
        if row is None:
            return cls(None, None, None, None, 0, None)
        return cls(
            user=row,
            phone=_related(row, "authentication_phone"),
            email=_related(row, "authentication_email"),
            office=_related(row, "office_phone"),
            answer_count=row.answer_count,
            answers_updated_at=row.answers_updated_at,
        )


def _related(row, name: str):
    try:
        return getattr(row, name)
    except ObjectDoesNotExist:
        return None


@dataclass(frozen=True)
class MethodStatus:
    method: Method
    state: MethodState
    value: str = ""  # in full: only for the owner's own pages
    masked: str = ""
    updated_at: datetime | None = None

    @property
    def counts(self) -> bool:
        return self.state in (MethodState.VERIFIED, MethodState.SET_BY_ADMIN)

    @property
    def is_set(self) -> bool:
        return self.state != MethodState.NOT_SET


class Method:
    kind: ClassVar[MethodKind]
    slug: ClassVar[str]
    summary: ClassVar[Any] = ""
    user_managed: ClassVar[bool] = True

    @property
    def label(self):
        return self.kind.label

    def is_enabled(self, policy: PolicyLike) -> bool:
        raise NotImplementedError

    def status(self, methods: UserMethods, policy: PolicyLike) -> MethodStatus:
        raise NotImplementedError

    def note(self, policy: PolicyLike) -> str:
        """What the owner should know about this method under the policy, if anything."""
        return ""


def phone_allowed(destination: str, policy: PolicyLike, *, refuse_types: bool) -> bool:
    try:
        parse(
            destination, region=None, allowed_regions=policy.region_list, refuse_types=refuse_types
        )
    except PhoneError:
        return False
    return True


def phone_code_message(
    *, destination: str, channel: str, code: str, masked: str, helpdesk: bool = False
) -> Message:
    """A text with the code, or a call that reads it out digit by digit, twice."""
    kind = "voice" if channel == Channel.VOICE else "sms"
    context = {"code": code, "digits": list(code), "helpdesk": helpdesk}
    text = render_to_string(f"methods/messages/{kind}_code.txt", context).strip()
    return Message(
        channel=kind,
        to=destination,
        body=text,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        purpose="code",
        masked_to=masked,
    )


class CodeMethod(Method):
    """A method proved by a code sent to a destination (a phone or an address)."""

    model: ClassVar[type[models.Model]]
    field: ClassVar[str]
    related_name: ClassVar[str]
    start_label: ClassVar[Any]
    # Show the destination back, and let the user pick a channel, before anything is sent.
    confirm_before_send: ClassVar[bool] = False

    def start_form(self, data, *, user, policy: PolicyLike, previous: str | None = None):
        """The form of the first step; its cleaned_data["destination"] is where codes go.
        `previous` is what the person entered last, shown again when they go back to fix it."""
        raise NotImplementedError

    def channels(self, policy: PolicyLike) -> list[Channel]:
        raise NotImplementedError

    def display(self, destination: str) -> str:
        return destination

    def mask(self, destination: str) -> str:
        raise NotImplementedError

    def limit_counters(self, destination: str) -> dict[str, str]:
        return {"destination": destination}

    def destination_allowed(self, destination: str, policy: PolicyLike) -> bool:
        """Whether the policy lets a code go to `destination` now. Checked before every send,
        so a number entered before the policy changed, or by an administrator, obeys it."""
        return True

    def code_message(
        self, *, destination: str, channel: str, code: str, helpdesk: bool = False
    ) -> Message:
        """The message that carries `code` to `destination`, in the current language. A code
        for the helpdesk's caller check says it is to be read out to the agent."""
        raise NotImplementedError

    def record(self, methods: UserMethods):
        return getattr(methods, self.related_name)

    def status(self, methods: UserMethods, policy: PolicyLike) -> MethodStatus:
        record = self.record(methods)
        if record is None:
            return MethodStatus(self, MethodState.NOT_SET)
        value = str(getattr(record, self.field))
        return MethodStatus(
            self,
            MethodState.VERIFIED if record.verified_at else MethodState.WAITING,
            value=self.display(value),
            masked=self.mask(value),
            updated_at=record.verified_at or record.updated_at,
        )

    def reset_destination(self, methods: UserMethods) -> str | None:
        """Where a reset code may go: the verified destination, if any."""
        record = self.record(methods)
        if record is None or not record.verified_at:
            return None
        return str(getattr(record, self.field))

    def unverify(self, *, user, destination: str) -> bool:
        """The destination bounced: the user must verify it again. Return whether it was."""
        return bool(
            self.model.objects.filter(
                user=user, verified_at__isnull=False, **{self.field: destination}
            ).update(verified_at=None)
        )

    def save_verified(self, *, user, destination: str) -> tuple[Any, str | None]:
        """Store a destination the user just proved; return the record and the previous value
        if a different one was verified before."""
        now = timezone.now()
        record = self.model.objects.select_for_update().filter(user=user).first()
        previous = None
        if record is None:
            record = self.model(user=user)
        elif record.verified_at and str(getattr(record, self.field)) != destination:
            previous = str(getattr(record, self.field))
        setattr(record, self.field, destination)
        record.verified_at = now
        record.last_used_at = now
        record.prepopulated = False
        record.save()
        return record, previous


class AuthenticationPhoneMethod(CodeMethod):
    kind = MethodKind.AUTHENTICATION_PHONE
    slug = "phone"
    summary = _(
        "A mobile phone you keep with you, other than your office phone. We send a code by text "
        "message or call you and read it out."
    )
    model = AuthenticationPhone
    field = "number"
    related_name = "phone"
    start_label = _("Enter your number")
    confirm_before_send = True

    def start_form(self, data, *, user, policy: PolicyLike, previous: str | None = None):
        initial = {}
        if previous:
            number = phonenumbers.parse(previous, None)
            initial = {
                "region": phonenumbers.region_code_for_number(number),
                "number": phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
            }
        return PhoneForm(data, allowed_regions=policy.region_list, initial=initial)

    def is_enabled(self, policy: PolicyLike) -> bool:
        return policy.phone_sms_enabled or policy.phone_voice_enabled

    def channels(self, policy: PolicyLike) -> list[Channel]:
        enabled = [
            (policy.phone_sms_enabled, Channel.SMS),
            (policy.phone_voice_enabled, Channel.VOICE),
        ]
        return [channel for on, channel in enabled if on]

    def display(self, destination: str) -> str:
        return international(destination)

    def mask(self, destination: str) -> str:
        return mask_phone(destination)

    def limit_counters(self, destination: str) -> dict[str, str]:
        return {"destination": destination, "prefix": country_prefix(destination)}

    def destination_allowed(self, destination: str, policy: PolicyLike) -> bool:
        return phone_allowed(destination, policy, refuse_types=True)

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


class OfficePhoneMethod(CodeMethod):
    """The directory number. Only administrators set it; at reset it gets a call with the code."""

    kind = MethodKind.OFFICE_PHONE
    slug = "office-phone"
    summary = _("Your desk number. Only your administrator can set or change it.")
    user_managed = False
    model = OfficePhone
    field = "number"
    related_name = "office"
    start_label = _("Enter your office number")

    def is_enabled(self, policy: PolicyLike) -> bool:
        return policy.office_phone_enabled

    def channels(self, policy: PolicyLike) -> list[Channel]:
        return [Channel.VOICE]

    def display(self, destination: str) -> str:
        return international(destination)

    def mask(self, destination: str) -> str:
        # The office phone is the directory number: it is not secret (docs/security.md §20).
        return international(destination)

    def limit_counters(self, destination: str) -> dict[str, str]:
        return {"destination": destination, "prefix": country_prefix(destination)}

    def destination_allowed(self, destination: str, policy: PolicyLike) -> bool:
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

    def status(self, methods: UserMethods, policy: PolicyLike) -> MethodStatus:
        if methods.office is None:
            return MethodStatus(self, MethodState.NOT_SET)
        number = str(methods.office.number)
        return MethodStatus(
            self,
            MethodState.SET_BY_ADMIN,
            value=international(number),
            masked=international(number),
            updated_at=methods.office.updated_at,
        )

    def reset_destination(self, methods: UserMethods) -> str | None:
        return str(methods.office.number) if methods.office else None

    def unverify(self, *, user, destination: str) -> bool:
        return False  # administrators own the office phone


class AuthenticationEmailMethod(CodeMethod):
    kind = MethodKind.AUTHENTICATION_EMAIL
    slug = "email"
    summary = _(
        "A personal address you can read without the password you may need to reset. We send "
        "a code to it."
    )
    model = AuthenticationEmail
    field = "email"
    related_name = "email"
    start_label = _("Enter your address")

    def start_form(self, data, *, user, policy: PolicyLike, previous: str | None = None):
        return EmailForm(data, user=user, initial={"email": previous} if previous else {})

    def is_enabled(self, policy: PolicyLike) -> bool:
        return policy.email_enabled

    def channels(self, policy: PolicyLike) -> list[Channel]:
        return [Channel.EMAIL]

    def mask(self, destination: str) -> str:
        return mask_email(destination)

    def code_message(
        self, *, destination: str, channel: str, code: str, helpdesk: bool = False
    ) -> Message:
        context = {"code": code, "site_url": settings.SSPR_SITE_URL, "helpdesk": helpdesk}
        return Message(
            channel="email",
            to=destination,
            subject=render_to_string("methods/messages/email_code_subject.txt", context).strip(),
            body=render_to_string("methods/messages/email_code.txt", context),
            language=translation.get_language() or settings.LANGUAGE_CODE,
            purpose="code",
            masked_to=self.mask(destination),
        )


class SecurityQuestionsMethod(Method):
    kind = MethodKind.SECURITY_QUESTIONS
    slug = "questions"
    summary = _(
        "Questions from a list your organisation approved, with answers only you know. Nobody, "
        "not even the helpdesk, can see your answers."
    )

    def is_enabled(self, policy: PolicyLike) -> bool:
        return policy.questions_enabled

    def note(self, policy: PolicyLike) -> str:
        if getattr(policy, "questions_alone_allowed", False):
            return ""
        return str(_("For a password reset they count only together with another method."))

    def status(self, methods: UserMethods, policy: PolicyLike) -> MethodStatus:
        if not methods.answer_count:
            return MethodStatus(self, MethodState.NOT_SET)
        enough = methods.answer_count >= policy.questions_required
        text = translation.ngettext(
            "%(count)d question answered", "%(count)d questions answered", methods.answer_count
        ) % {"count": methods.answer_count}
        return MethodStatus(
            self,
            MethodState.VERIFIED if enough else MethodState.INCOMPLETE,
            value=text,
            masked=text,
            updated_at=methods.answers_updated_at,
        )


REGISTRY: dict[str, Method] = {
    method.slug: method
    for method in (
        AuthenticationPhoneMethod(),
        AuthenticationEmailMethod(),
        SecurityQuestionsMethod(),
        OfficePhoneMethod(),
    )
}


def method_for_kind(kind: str) -> Method:
    return next(method for method in REGISTRY.values() if method.kind.value == kind)


def enabled_methods(policy: PolicyLike) -> list[Method]:
    return [method for method in REGISTRY.values() if method.is_enabled(policy)]


def statuses(methods: UserMethods, policy: PolicyLike) -> list[MethodStatus]:
    return [method.status(methods, policy) for method in enabled_methods(policy)]
