"""Reminders before a directory password expires (the README's "Directory"): on each of the
policy's days before expiry (14, 7, 3, 1 by default) a message with a link to change the
password, once per person, expiry and day, through the delivery queue, in the person's
language (the directory's `preferredLanguage`, else the site's). People who have not
registered get a line asking them to register while they can still sign in.

`manage.py send_expiry_reminders` runs it from cron; each run is one audit event. One run at a
time holds a lock in the shared cache; besides, each reminder is recorded (`ExpiryReminder`,
unique per person, expiry and day) in a committed transaction before it is sent, and one that
another run recorded first is not sent again, so two runs at once never send it twice, even
where the cache is the process's own.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from audit.log import record
from audit.models import Event, EventKind
from delivery import outbox
from delivery.outbox import Message
from methods.masking import mask_email, mask_phone
from methods.models import AuthenticationEmail, AuthenticationPhone
from policy.models import Policy, Scope, reminder_days
from registration.language import stored_languages
from registration.models import Registration
from sspr_site.conf import app_settings as site_settings

from .models import ExpiryReminder
from .password_life import Life
from .password_scan import scan

AUDIT_NAME = "password_expiry"
SOON_DAYS = 14  # the admin home's "expire in the next 14 days"
LOCK_KEY = "sspr:directory:expiry-reminders-running"


class RemindersRunning(Exception):
    pass


@dataclass
class ExpiryReport:
    scanned: int = 0
    due: int = 0
    reminded: int = 0
    messages: int = 0
    no_address: int = 0
    expiring_soon: int = 0
    # Reminders another run recorded first (it sends them): never sent twice.
    taken: int = 0
    refused: str = ""


def send_expiry_reminders(
    *,
    policy: Policy | None = None,
    now: datetime.datetime | None = None,
    dry_run: bool = False,
    progress: Callable[[ExpiryReport], None] | None = None,
) -> ExpiryReport:
    policy = policy or Policy.load()
    days = reminder_days(policy.expiry_reminder_days)
    if not days or not (policy.expiry_reminder_email or policy.expiry_reminder_text):
        return ExpiryReport(refused="disabled")
    now = now or timezone.now()
    if not cache.add(LOCK_KEY, True, timeout=3 * 3600):
        raise RemindersRunning("Another expiry reminder run is going on; nothing was sent.")
    try:
        report = ExpiryReport()
        for page in scan(now):
            _page(page, policy, days, now, dry_run, report)
            if progress:
                progress(report)
    finally:
        cache.delete(LOCK_KEY)
    if not dry_run:
        record(
            EventKind.REMINDERS_SENT,
            reminder=AUDIT_NAME,
            count=report.reminded,
            messages=report.messages,
            scanned=report.scanned,
            expiring_soon=report.expiring_soon,
        )
    return report


def _page(page: list[Life], policy, days, now, dry_run, report: ExpiryReport) -> None:
    report.scanned += len(page)
    due: dict[str, tuple[Life, int]] = {}
    for life in page:
        left = life.days_left(now)
        if left is None or left <= 0:
            continue  # never expires, or already expired: the sign-in leads to the change
        if left <= SOON_DAYS:
            report.expiring_soon += 1
        if left <= days[0]:
            # The tightest reminder day not yet passed: a run missed on the 7th day sends the
            # 7-day reminder on the 6th, and never the 14-day one late.
            due[life.username] = (life, min(day for day in days if day >= left))
    if not due:
        return
    sent = set(
        ExpiryReminder.objects.filter(username__in=due).values_list(
            "username", "expires_on", "days"
        )
    )
    due = {
        name: (life, day)
        for name, (life, day) in due.items()
        if (name, life.expires_at.date(), day) not in sent
    }
    users = {
        user.username: user
        for user in policy.scoped_users(get_user_model().objects.filter(username__in=due))
    }
    if policy.scope != Scope.EVERYONE:
        # Only mirrored people can be in a narrower scope of the policy.
        due = {name: pair for name, pair in due.items() if name in users}
    report.due += len(due)
    if dry_run or not due:
        return
    ids = [user.pk for user in users.values()]
    emails = dict(
        AuthenticationEmail.objects.filter(user_id__in=ids, verified_at__isnull=False).values_list(
            "user_id", "email"
        )
    )
    phones = (
        dict(
            AuthenticationPhone.objects.filter(
                user_id__in=ids, verified_at__isnull=False
            ).values_list("user_id", "number")
        )
        if policy.expiry_reminder_text
        else {}
    )
    # Registered now, or registered once and lapsed since (registration.flows.
    # registration_lapse keeps the last confirmation): each is told where they stand.
    registrations = dict(
        Registration.objects.filter(
            Q(completed_at__isnull=False) | Q(last_confirmed_at__isnull=False), user_id__in=ids
        ).values_list("user_id", "completed_at")
    )
    # The language each person chose here with the picker, and the one their browser showed
    # (README, "Languages"): one query each for the page.
    chosen = stored_languages(ids, chosen_only=True)
    guessed = stored_languages(ids)
    ready = []
    for name, (life, day) in due.items():
        user = users.get(name)
        user_id = user.pk if user else None
        address = emails.get(user_id) or life.email
        phone = str(phones.get(user_id) or "")
        messages = _messages(
            life,
            day,
            now,
            policy,
            address if policy.expiry_reminder_email else "",
            phone,
            registered=registrations.get(user_id) is not None,
            lapsed=user_id in registrations and registrations[user_id] is None,
            user_id=user_id,
            chosen=chosen.get(user_id),
            guessed=guessed.get(user_id),
        )
        if not messages:
            report.no_address += 1
            continue
        reminder = ExpiryReminder(username=name, expires_on=life.expires_at.date(), days=day)
        ready.append((reminder, messages))
    claimed = _claim([reminder for reminder, _parts in ready])
    report.taken += len(ready) - len(claimed)
    unsent = {reminder.pk for reminder in claimed}
    try:
        for reminder, messages in ready:
            if reminder.pk is None:
                continue  # another run recorded it first and sends it
            for message in messages:
                outbox.send(message)
            report.messages += len(messages)
            report.reminded += 1
            unsent.discard(reminder.pk)
    finally:
        if unsent:  # queueing failed: the next run sends these
            ExpiryReminder.objects.filter(pk__in=unsent).delete()


def _claim(reminders: list[ExpiryReminder]) -> list[ExpiryReminder]:
    """Record the reminders about to be sent, in one transaction committed before any is sent,
    and return those recorded here: one another run recorded first is left out (its row
    conflicts; on PostgreSQL the insert waits for that run's transaction)."""
    claimed = []
    with transaction.atomic():
        for reminder in reminders:
            try:
                with transaction.atomic():
                    reminder.save(force_insert=True)
            except IntegrityError:
                reminder.pk = None
                continue
            claimed.append(reminder)
    return claimed


def language_of(life: Life, chosen: str | None = None, guessed: str | None = None) -> str:
    """The language the person chose here with the picker, else the directory's
    `preferredLanguage`, else their browser's when they signed in here, else the site's."""
    if chosen:
        return chosen
    wanted = life.language.lower().replace("_", "-")
    codes = {code for code, _name in settings.LANGUAGES}
    for candidate in (wanted, wanted.split("-")[0]):
        if candidate in codes:
            return candidate
    return guessed or settings.LANGUAGE_CODE


def _messages(
    life,
    day,
    now,
    policy,
    address,
    phone,
    *,
    registered,
    user_id,
    lapsed=False,
    chosen=None,
    guessed=None,
) -> list[Message]:
    language = language_of(life, chosen, guessed)
    with translation.override(language):
        left = life.days_left(now)
        context = {
            "name": life.name or life.username,
            "username": life.username,
            "days": left,
            "date": formats.date_format(timezone.localtime(life.expires_at), "DATE_FORMAT"),
            "site_url": site_settings.SITE_URL,
            "helpdesk": policy.helpdesk_contact,
            "registered": registered,
            "lapsed": lapsed,
        }
        messages = []
        if address:
            messages.append(
                Message(
                    channel="email",
                    to=address,
                    subject=render_to_string(
                        "directory/messages/expiry_subject.txt", context
                    ).strip(),
                    body=render_to_string("directory/messages/expiry.txt", context),
                    language=language,
                    purpose="reminder",
                    user_id=user_id,
                    masked_to=mask_email(address),
                )
            )
        if phone:
            messages.append(
                Message(
                    channel="sms",
                    to=phone,
                    body=render_to_string("directory/messages/expiry_sms.txt", context).strip(),
                    language=language,
                    purpose="reminder",
                    user_id=user_id,
                    masked_to=mask_phone(phone),
                )
            )
    return messages


def last_run() -> Event | None:
    """The latest run's audit event, for the admin home."""
    return (
        Event.objects.filter(kind=EventKind.REMINDERS_SENT, details__reminder=AUDIT_NAME)
        .order_by("-pk")
        .first()
    )
