"""Set-based views of registration over many users: state and whether each can reset.

Each function adds annotations to a user queryset, so a list of any length costs the same few
queries (no query per row).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from methods.models import SecurityAnswer
from methods.reset_rule import ResetRule

from .models import Policy, Registration


class RegistrationState:
    NOT_REGISTERED = "not_registered"
    REGISTERED = "registered"
    RECONFIRMATION_DUE = "reconfirmation_due"

    choices = [
        (NOT_REGISTERED, _("Not registered")),
        (REGISTERED, _("Registered")),
        (RECONFIRMATION_DUE, _("Reconfirmation due")),
    ]
    labels = dict(choices)


def stale_before(policy: Policy, now=None):
    """Confirmations older than this are stale; None when reconfirmation is off."""
    if not policy.reconfirm_days:
        return None
    return (now or timezone.now()) - timedelta(days=policy.reconfirm_days)


def due_filter(policy: Policy, prefix: str = "sspr_registration__") -> Q:
    """Registrations that must be confirmed again: flagged by an admin, or stale."""
    due = Q(**{f"{prefix}reconfirmation_required": True})
    cutoff = stale_before(policy)
    if cutoff is not None:
        due |= Q(**{f"{prefix}last_confirmed_at__lt": cutoff})
    return due


def with_state(queryset: QuerySet, policy: Policy) -> QuerySet:
    """Annotate `sspr_state`: not registered, registered, or reconfirmation due."""
    return queryset.annotate(
        sspr_state=Case(
            When(
                sspr_registration__completed_at__isnull=True,
                then=Value(RegistrationState.NOT_REGISTERED),
            ),
            When(due_filter(policy), then=Value(RegistrationState.RECONFIRMATION_DUE)),
            default=Value(RegistrationState.REGISTERED),
            output_field=CharField(),
        )
    )


def _flag(condition) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def with_methods(queryset: QuerySet, policy: Policy) -> QuerySet:
    """Annotate which methods count for each user, and `sspr_can_reset` (methods.reset_rule,
    the one statement of the rule)."""
    user = OuterRef("pk")
    zero = Value(0, output_field=IntegerField())
    # Joins on the one-to-one method tables, not a subquery per row: a list filtered or sorted
    # over every user stays fast.
    phone = (
        _flag(Q(authentication_phone__verified_at__isnull=False))
        if policy.phone_sms_enabled or policy.phone_voice_enabled
        else zero
    )
    email = (
        _flag(Q(authentication_email__verified_at__isnull=False)) if policy.email_enabled else zero
    )
    office = _flag(Q(office_phone__isnull=False)) if policy.office_phone_enabled else zero
    answers = Coalesce(
        Subquery(
            SecurityAnswer.objects.filter(user=user)
            .order_by()
            .values("user")
            .annotate(n=Count("pk"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        zero,
    )
    queryset = queryset.annotate(
        sspr_phone=phone,
        sspr_email=email,
        sspr_office=office,
        sspr_answers=answers,
    )
    questions = (
        _flag(Q(sspr_answers__gte=policy.reset_questions_required))
        if policy.questions_enabled
        else zero
    )
    queryset = queryset.annotate(sspr_questions=questions).annotate(
        sspr_other_methods=F("sspr_phone") + F("sspr_email") + F("sspr_office")
    )
    queryset = queryset.annotate(sspr_method_count=F("sspr_other_methods") + F("sspr_questions"))
    return ResetRule.of(policy).annotate(queryset)


def registrations_due(policy: Policy) -> QuerySet:
    return Registration.objects.filter(completed_at__isnull=False).filter(
        due_filter(policy, prefix="")
    )
