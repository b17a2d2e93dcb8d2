"""Registration as a whole: where a user stands, and Finish."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.log import record
from audit.models import EventKind
from methods.registry import MethodStatus, UserMethods, statuses

from .models import Policy, Registration


@dataclass(frozen=True)
class RegistrationStatus:
    policy: Policy
    methods: list[MethodStatus]
    registration: Registration | None

    @property
    def required(self) -> int:
        return self.policy.methods_required

    @property
    def verified(self) -> int:
        return sum(1 for status in self.methods if status.counts)

    @property
    def can_finish(self) -> bool:
        return self.verified >= self.required

    @property
    def is_complete(self) -> bool:
        return bool(self.registration and self.registration.completed_at)

    @property
    def more_advised(self) -> bool:
        """More methods are enabled than required and not all are set up."""
        return self.verified < len(self.methods)


def registration_status(*, user, policy: Policy | None = None) -> RegistrationStatus:
    """Load everything the overview shows, in a fixed number of queries."""
    policy = policy or Policy.load()
    methods = UserMethods.load(user)
    registration = Registration.objects.filter(user=user).first()
    return RegistrationStatus(policy, statuses(methods, policy), registration)


def registration_finish(*, request: HttpRequest, user, policy: Policy) -> bool:
    """Record the registration if the verified methods meet the policy. Return whether it did."""
    status = registration_status(user=user, policy=policy)
    if not status.can_finish:
        return False
    now = timezone.now()
    with transaction.atomic():
        registration, _created = Registration.objects.select_for_update().get_or_create(user=user)
        first = registration.completed_at is None
        if first:
            registration.completed_at = now
        registration.last_confirmed_at = now
        registration.reconfirmation_required = False
        registration.save()
    record(
        EventKind.REGISTRATION_COMPLETED,
        request=request,
        subject=user,
        methods=sorted(s.method.kind.value for s in status.methods if s.counts),
        first=first,
    )
    return True
