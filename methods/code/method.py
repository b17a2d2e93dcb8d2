"""The code family's Method class (CodeMethod) and what its phone members share."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation

from delivery.outbox import Message
from methods.base import Method, MethodState, MethodStatus
from sspr_site.compiled_query import OneRow
from sspr_site.rows import Insert

from . import more_time
from .forms import ResetEmailForm, ResetPhoneForm
from .models import Channel, VerificationCode
from .phone_numbers import PhoneError, parse


@functools.cache
def _new_record(model) -> Insert:
    """A person's first row of `model`, unless they have one (sspr_site/rows.py)."""
    return Insert(model, unless_there=True)


@functools.cache
def _locked_record(model) -> OneRow:
    """A person's row of `model`, locked for update (sspr_site/compiled_query.py)."""
    return OneRow(lambda: model.objects.select_for_update(), "user")


def phone_allowed(destination: str, policy, *, refuse_types: bool) -> bool:
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
    """A method proved by a code sent to a destination."""

    model: ClassVar[type[models.Model]]
    field: ClassVar[str]
    related_name: ClassVar[str]  # the one-to-one relation from the user
    start_label: ClassVar[Any]
    # The reset page asks for the whole destination with this form ("phone" or "email").
    reset_form: ClassVar[str] = "phone"
    caller_check = "send"
    setup_urlconf = "methods.code.setup_urls"
    reset_urlconf = "methods.code.reset_urls"

    def start_form(self, data, *, user, policy, previous: str | None = None, methods=None):
        """The form of the first step; its cleaned_data["destination"] is where codes go.
        `previous` is what the person entered last, shown again when they go back to fix it;
        `methods`, the person's methods (UserMethods) when the page has them."""
        raise NotImplementedError

    def channels(self, policy) -> list[Channel]:
        raise NotImplementedError

    def reset_start_form(self, policy, data=None, *, auto_id: str = "id_%s", hinted=False):
        """The whole registered number or address, typed again (reset_views.send); the same
        for every name, so the methods page may draw it before anything is known."""
        if self.reset_form == "email":
            return ResetEmailForm(data, auto_id=auto_id, hinted=hinted)
        return ResetPhoneForm(
            data,
            channels=self.channels(policy),
            auto_id=auto_id,
            hinted=hinted,
            office_line=not self.user_managed,
        )

    def reset_start_form_shape(self, policy) -> tuple:
        return (self.reset_form, *(channel.value for channel in self.channels(policy)))

    def display(self, destination: str) -> str:
        return destination

    def mask(self, destination: str) -> str:
        raise NotImplementedError

    def limit_counters(self, destination: str) -> dict[str, str]:
        return {"destination": destination}

    def destination_allowed(self, destination: str, policy) -> bool:
        """Whether the policy lets a code go to `destination` now. Checked before every send,
        so a number entered before the policy changed, or by an administrator, obeys it."""
        return True

    def still_allowed(self, destination: str, policy) -> bool:
        """Whether a stored destination still counts under the policy, as the check before
        every send asks (destination_allowed): what can change after it was checked on the way
        in. Any, unless the method says otherwise (a phone: the policy's countries)."""
        return True

    def code_message(
        self, *, destination: str, channel: str, code: str, helpdesk: bool = False
    ) -> Message:
        """The message that carries `code` to `destination`, in the current language. A code
        for the helpdesk's caller check says it is to be read out to the agent."""
        raise NotImplementedError

    # --- The contract -----------------------------------------------------------------------

    def load_one(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related(self.related_name)

    def from_row(self, row):
        if row is None:
            return None
        try:
            return getattr(row, self.related_name)
        except self.model.DoesNotExist:
            return None

    def record(self, methods):
        return methods[self.key]

    def status(self, methods, policy) -> MethodStatus:
        record = self.record(methods)
        if record is None:
            return MethodStatus(self, MethodState.NOT_SET)
        value = str(getattr(record, self.field))
        waiting = not record.verified_at
        state = MethodState.WAITING if waiting else MethodState.VERIFIED
        if not waiting and not self.still_allowed(value, policy):
            state = MethodState.NOT_ALLOWED
        return MethodStatus(
            self,
            state,
            value=self.display(value),
            masked=self.mask(value),
            updated_at=record.verified_at or record.updated_at,
            confirm_url=self.setup_page("confirm") if waiting and self.user_managed else "",
        )

    def reset_destination(self, methods) -> str | None:
        """Where a reset code may go: the verified destination, if any."""
        record = self.record(methods)
        if record is None or not record.verified_at:
            return None
        return str(getattr(record, self.field))

    def still_registered(self, user_id: int, destination: str) -> bool:
        """Whether `destination` is still where this person's codes for a reset or a caller
        check go: a code sent before the number or address was replaced, removed or found
        undeliverable proves nothing now (docs/security.md §4)."""
        return self.model.objects.filter(
            user_id=user_id, verified_at__isnull=False, **{self.field: destination}
        ).exists()

    def reset_hint(self, methods) -> str:
        destination = self.reset_destination(methods)
        return self.mask(destination) if destination else ""

    def more_time_hint(self, extensions_left: int) -> str:
        """The sentence beside the code's More time button (methods/code/more_time.py)."""
        return more_time.hint(extensions_left)

    def unverify(self, *, user, destination: str) -> bool:
        """The destination bounced: the user must verify it again. Return whether it was."""
        return bool(
            self.model.objects.filter(
                user=user, verified_at__isnull=False, **{self.field: destination}
            ).update(verified_at=None)
        )

    def save_verified(self, *, user, destination: str) -> tuple[Any, str | None, bool]:
        """Store a destination the user just proved; return the record, the previous value if
        a different one was verified before, and whether this very one was (proved again:
        nothing changed). A person's first is one INSERT; a row there already (another
        destination, or one an administrator entered) is read, locked, and written again."""
        now = timezone.now()
        proved = {"verified_at": now, "last_used_at": now, "prepopulated": False}
        record = _new_record(self.model).create(user=user, **{self.field: destination}, **proved)
        if record is not None:
            return record, None, False
        record = _locked_record(self.model).get(user.pk)
        previous, again = None, False
        if record is None:
            record = self.model(user=user)
        elif record.verified_at and str(getattr(record, self.field)) != destination:
            previous = str(getattr(record, self.field))
        elif record.verified_at:
            again = True
        setattr(record, self.field, destination)
        record.verified_at = now
        record.last_used_at = now
        record.prepopulated = False
        record.save()
        return record, previous, again

    def restore(self, user, value: str) -> bool:
        self.save_verified(user=user, destination=value)
        return True

    def remove(self, user) -> tuple[bool, list[str]]:
        existing = self.model.objects.select_for_update().filter(user=user).first()
        if existing is None:
            return False, []
        extra = (
            [str(getattr(existing, self.field))] if self.notify_removed_address(existing) else []
        )
        existing.delete()
        VerificationCode.objects.filter(user=user, method=self.kind).update(token=None)
        return True, extra

    def purge(self, user) -> bool:
        had = bool(self.model.objects.filter(user=user).delete()[0])
        return bool(VerificationCode.objects.filter(user=user, method=self.kind).delete()[0]) or had

    def notify_removed_address(self, record) -> bool:
        """Whether the removed destination itself should hear of the removal."""
        return False

    # --- Many people ------------------------------------------------------------------------

    def count_condition(self, policy) -> Q:
        return Q(**{f"{self.related_name}__verified_at__isnull": False})

    @property
    def value_name(self) -> str:
        return f"{self.flag_name}_value"

    def annotate_many(self, queryset: QuerySet, policy) -> QuerySet:
        # Joins on the one-to-one table, not a subquery per row: a list filtered or sorted over
        # every user stays fast. The value as stored text (no phone object built per row), and
        # only once proven: the helpdesk sees what a reset could use.
        queryset = super().annotate_many(queryset, policy)
        value = models.ExpressionWrapper(
            models.F(f"{self.related_name}__{self.field}"), output_field=models.CharField()
        )
        return queryset.annotate(
            **{
                self.value_name: models.Case(
                    models.When(self.count_condition(policy), then=value),
                    default=models.Value(None),
                    output_field=models.CharField(),
                )
            }
        )

    @property
    def many_fields(self) -> list[str]:
        return [self.flag_name, self.value_name]

    def masked_many(self, values: dict) -> str:
        value = values[self.value_name]
        return self.mask(value) if value else ""
