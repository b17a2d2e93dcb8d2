"""Registration reminders: an email with a link to /ssprsetup/ for everyone in scope who has not
registered or must confirm again, at most once per the policy's interval."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation

from audit.log import record
from audit.models import EventKind
from delivery import outbox
from delivery.outbox import Message
from methods.masking import mask_email
from policy.models import Policy
from sspr_site.conf import app_settings as site_settings

from .language import stored_languages
from .models import Registration
from .queries import RegistrationState, with_state


@dataclass
class ReminderReport:
    candidates: int = 0
    sent: int = 0
    refused: str = ""


def reminder_candidates(policy: Policy) -> QuerySet:
    """Active people in scope with an address, not registered or due to confirm, and not
    reminded within the interval."""
    since = timezone.now() - timedelta(days=policy.reminder_interval_days)
    people = with_state(policy.scoped_users(get_user_model().objects), policy)
    return (
        people.filter(is_active=True)
        .exclude(email="")
        .filter(
            sspr_state__in=[RegistrationState.NOT_REGISTERED, RegistrationState.RECONFIRMATION_DUE]
        )
        .filter(
            Q(sspr_registration__reminded_at__isnull=True)
            | Q(sspr_registration__reminded_at__lt=since)
        )
        .order_by("pk")
    )


def reminders_send(
    *,
    policy: Policy,
    dry_run: bool = False,
    batch_size: int = 1000,
    actor=None,
    request=None,
    progress: Callable[[int, int], None] | None = None,
) -> ReminderReport:
    """Queue one reminder per candidate, in batches; record who was reminded and when."""
    if not policy.reminders_enabled:
        return ReminderReport(refused="disabled")
    candidates = reminder_candidates(policy)
    report = ReminderReport(candidates=candidates.count())
    if dry_run or not report.candidates:
        return report
    language = translation.get_language() or settings.LANGUAGE_CODE
    batch: list = []
    for person in candidates.only("pk", "email", "username", "first_name", "last_name").iterator(
        chunk_size=batch_size
    ):
        batch.append(person)
        if len(batch) >= batch_size:
            _send_batch(batch, policy, language)
            report.sent += len(batch)
            batch = []
            if progress:
                progress(report.sent, report.candidates)
    if batch:
        _send_batch(batch, policy, language)
        report.sent += len(batch)
        if progress:
            progress(report.sent, report.candidates)
    record(
        EventKind.REMINDERS_SENT,
        request=request,
        actor=actor,
        count=report.sent,
        interval_days=policy.reminder_interval_days,
    )
    return report


def _send_batch(people: list, policy: Policy, language: str) -> None:
    """Each reminder in its person's language, else `language` (README, "Languages")."""
    now = timezone.now()
    languages = stored_languages(person.pk for person in people)
    for person in people:
        with translation.override(languages.get(person.pk, language)):
            context = {
                "name": person.get_full_name() or person.get_username(),
                "username": person.get_username(),
                "site_url": site_settings.SITE_URL,
                "helpdesk": policy.helpdesk_contact,
            }
            outbox.send(
                Message(
                    channel="email",
                    to=person.email,
                    subject=render_to_string(
                        "registration/messages/reminder_subject.txt", {}
                    ).strip(),
                    body=render_to_string("registration/messages/reminder.txt", context),
                    language=translation.get_language() or settings.LANGUAGE_CODE,
                    purpose="reminder",
                    user_id=person.pk,
                    masked_to=mask_email(person.email),
                )
            )
    # One statement: a new registration row for people who have none, the time otherwise.
    Registration.objects.bulk_create(
        [Registration(user_id=person.pk, reminded_at=now) for person in people],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["reminded_at"],
    )
