"""Registration reminders: an email with a link to /ssprsetup/ for everyone in scope who has not
registered or must confirm again, at most once per the policy's interval.

A run claims each batch before sending it (README, "Administration"): one transaction marks
`reminded_at` on the rows still due, locking them (PostgreSQL skips rows another run holds;
SQLite's transactions take the write lock at once), and only the people it marked are sent a
reminder. Two runs at once (two quick submits, the button and cron, two hosts) so remind each
person once, and the second says how many the other took.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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

logger = logging.getLogger("sspr.registration")


@dataclass
class ReminderReport:
    candidates: int = 0
    sent: int = 0
    # Candidates another run claimed first (it sends theirs): never reminded twice.
    taken: int = 0
    refused: str = ""


class RemindersInterrupted(Exception):
    """Queueing stopped partway (the queue or the database went away): `report.sent` went out
    and were recorded; the rest keep their turn for the next run."""

    def __init__(self, report: ReminderReport):
        super().__init__(f"reminders stopped after {report.sent}")
        self.report = report


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
    """Queue one reminder per candidate, in batches, each batch claimed first (the module's
    docstring); record who was reminded and when."""
    if not policy.reminders_enabled:
        return ReminderReport(refused="disabled")
    candidates = reminder_candidates(policy)
    report = ReminderReport(candidates=candidates.count())
    if dry_run or not report.candidates:
        return report
    try:
        _send_all(candidates, report, policy, batch_size, progress)
    except Exception as error:  # noqa: BLE001 - whatever stopped it, what went out is recorded
        logger.exception("registration reminders stopped after %s", report.sent)
        # What went out is recorded as every run is, and said (README, "Administration").
        _record_run(report, policy, actor, request, interrupted=True)
        raise RemindersInterrupted(report) from error
    _record_run(report, policy, actor, request)
    return report


def _record_run(report: ReminderReport, policy: Policy, actor, request, **extra) -> None:
    details = {"count": report.sent, "interval_days": policy.reminder_interval_days, **extra}
    if report.taken:
        details["taken_by_another_run"] = report.taken
    record(EventKind.REMINDERS_SENT, request=request, actor=actor, **details)


def _send_all(candidates, report: ReminderReport, policy: Policy, batch_size: int, progress):
    language = translation.get_language() or settings.LANGUAGE_CODE
    fields = ("pk", "email", "username", "first_name", "last_name")
    last_pk = None
    while True:
        # A fresh query per batch (by primary key), so no cursor stays open across the claims.
        page = candidates.only(*fields)
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        people = list(page[:batch_size])
        if not people:
            break
        last_pk = people[-1].pk
        now = timezone.now()
        claimed = _claim([person.pk for person in people], policy, now)
        report.taken += len(people) - len(claimed)
        mine = [person for person in people if person.pk in claimed]
        _send_batch(mine, claimed, policy, language, now, report)
        if progress:
            progress(report.sent, report.candidates)


def _claim(ids: list[int], policy: Policy, now) -> dict:
    """Mark as reminded at `now` those of `ids` still due, in one transaction, and return
    them with the time they were last reminded before (None: never)."""
    since = now - timedelta(days=policy.reminder_interval_days)
    with transaction.atomic():
        # A row for people who have none (no row and a row without a time read the same).
        Registration.objects.bulk_create(
            [Registration(user_id=pk) for pk in ids], ignore_conflicts=True
        )
        due = dict(
            Registration.objects.select_for_update(skip_locked=True)
            .filter(user_id__in=ids)
            .filter(Q(reminded_at__isnull=True) | Q(reminded_at__lt=since))
            .order_by("user_id")
            .values_list("user_id", "reminded_at")
        )
        Registration.objects.filter(user_id__in=due).update(reminded_at=now)
    return due


def _release(claimed: dict, now) -> None:
    """Give claims back whose reminder was not queued, so that the next run sends it."""
    before: dict = {}
    for pk, reminded_at in claimed.items():
        before.setdefault(reminded_at, []).append(pk)
    for reminded_at, ids in before.items():
        Registration.objects.filter(user_id__in=ids, reminded_at=now).update(
            reminded_at=reminded_at
        )


def _send_batch(
    people: list, claimed: dict, policy: Policy, language: str, now, report: ReminderReport
) -> None:
    """Each reminder in its person's language, else `language` (README, "Languages"), counted
    in `report` as it is queued. Should queueing fail, the claims not yet used are given back."""
    languages = stored_languages(person.pk for person in people)
    unsent = dict(claimed)
    try:
        for person in people:
            _send_one(person, policy, languages.get(person.pk, language))
            del unsent[person.pk]
            report.sent += 1
    finally:
        if unsent:
            _release(unsent, now)


def _send_one(person, policy: Policy, language: str) -> None:
    with translation.override(language):
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
                subject=render_to_string("registration/messages/reminder_subject.txt", {}).strip(),
                body=render_to_string("registration/messages/reminder.txt", context),
                language=translation.get_language() or settings.LANGUAGE_CODE,
                purpose="reminder",
                user_id=person.pk,
                masked_to=mask_email(person.email),
            )
        )


def interrupted_message(report: ReminderReport) -> str:
    """What a run says when queueing stopped partway."""
    return _(
        "Queueing reminders stopped partway: the message queue or the database could not be "
        "reached. Reminders queued before it stopped: %(count)s (recorded); the others keep "
        "their turn for the next run."
    ) % {"count": f"{report.sent:,}"}


def taken_message(report: ReminderReport) -> str:
    """What a run says when another run claimed some of its people first."""
    return ngettext(
        "%(count)d person was being reminded by another run at the same moment; "
        "nobody gets a reminder twice.",
        "%(count)d people were being reminded by another run at the same moment; "
        "nobody gets a reminder twice.",
        report.taken,
    ) % {"count": report.taken}
