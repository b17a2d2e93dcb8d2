"""Set-based views of registration over many users: state and whether each can reset.

Each function adds annotations to a user queryset, so a list of any length costs the same few
queries (no query per row).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import (
    Case,
    CharField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from methods.registry import annotate_methods
from methods.reset_rule import ResetRule
from policy.models import Policy

from .models import Registration


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


def with_methods(queryset: QuerySet, policy: Policy, *, select_rule: bool = True) -> QuerySet:
    """Annotate each method's flag (methods.registry.annotate_methods) and `sspr_can_reset`
    (methods.reset_rule, the one statement of the rule). With `select_rule=False` the answer
    is there to filter and sort by, and the page works it out from each row it shows."""
    rule = ResetRule.of(policy)
    return rule.annotate(annotate_methods(queryset, policy), select=select_rule)


def registrations_due(policy: Policy) -> QuerySet:
    return Registration.objects.filter(completed_at__isnull=False).filter(
        due_filter(policy, prefix="")
    )
