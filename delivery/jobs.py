"""What the worker runs. Every job's arguments arrive sealed (delivery.sealing)."""

from __future__ import annotations

import logging
import smtplib

from django.core.mail import EmailMessage
from django.utils.module_loading import import_string
from rq import get_current_job

from audit.conf import app_settings as audit_settings
from audit.log import record
from audit.models import EventKind
from methods.backends import DeliveryError, DeliveryProblem, PhoneMessage, get_phone_backend

from . import mail
from .models import FailedDelivery
from .outbox import SEALED_MAX_AGE, Message, failed
from .outbox import run as run_now
from .sealing import unseal

logger = logging.getLogger("sspr.delivery")

# Worth another try later; the others will fail the same way every time.
TEMPORARY = frozenset({DeliveryProblem.TOO_MANY_REQUESTS, DeliveryProblem.UNAVAILABLE})


def run(function: str, sealed: str, delivery_id: str = "") -> None:
    """The queue's single entry point: open the arguments and run the named job. Jobs queued
    before delivery records existed have no `delivery_id`."""
    run_now(function, unseal(sealed, max_age=SEALED_MAX_AGE), delivery_id)


def transmit(message: Message) -> None:
    """Hand one message to its gateway; raise DeliveryError with the reason if it won't go."""
    # The errors raised here are not chained to the gateway's: those name the recipient, and
    # the worker logs a retried job's whole traceback (docs/security.md §21).
    if message.channel == "email":
        try:
            mail.send(EmailMessage(message.subject, message.body, to=[message.to]))
        except smtplib.SMTPRecipientsRefused as exc:
            if all(500 <= code < 600 for code, _text in exc.recipients.values()):
                raise DeliveryError(DeliveryProblem.INVALID_ADDRESS, "recipient refused") from None
            # "Not now" (a full mailbox, greylisting, a server going down): tried again later,
            # and the address is not taken for a wrong one.
            raise DeliveryError(DeliveryProblem.UNAVAILABLE, "recipient deferred") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(DeliveryProblem.UNAVAILABLE, type(exc).__name__) from None
        return
    get_phone_backend().send(
        PhoneMessage(
            to=message.to, kind=message.channel, text=message.body, language=message.language
        )
    )


def deliver(*, message: dict, tried: int = 0) -> None:
    """Send one message. A temporary problem is raised for the queue to retry while tries are
    left; after the last try, or for a permanent problem, the message is given up. `tried`
    counts the tries made before it was queued (deliver_first)."""
    message = Message(**message)
    job = get_current_job()
    try:
        transmit(message)
    except DeliveryError as exc:
        tries_left = bool(job and job.retries_left)
        if exc.problem in TEMPORARY and tries_left:
            logger.info("delivery deferred channel=%s problem=%s", message.channel, exc.problem)
            raise
        attempts = 1 + len(job.retry_intervals or []) - (job.retries_left or 0) if job else 1
        give_up(message, exc.problem, attempts=tried + attempts)


def deliver_first(*, message: dict) -> None:
    """A message's first try, made by the job that wrote it (delivery.outbox.send). A
    permanent problem gives it up at once, as deliver() would; a temporary one, or anything
    else that stops it, is raised, and the queue makes the message's next tries."""
    message = Message(**message)
    try:
        transmit(message)
    except DeliveryError as exc:
        if exc.problem in TEMPORARY and audit_settings.DELIVERY_RETRY_INTERVALS:
            raise
        give_up(message, exc.problem, attempts=1)


def give_up(message: Message, problem: DeliveryProblem, *, attempts: int = 1) -> None:
    """Record the dead letter, tell the audit log, and let the sender react (a code page)."""
    failed()
    FailedDelivery.objects.create(
        user_id=message.user_id,
        channel=message.channel,
        purpose=message.purpose,
        destination=message.masked_to,
        problem=problem.value,
        attempts=attempts,
    )
    record(
        EventKind.DELIVERY_FAILED,
        subject=_user(message.user_id),
        channel=message.channel,
        purpose=message.purpose,
        reason=problem.value,
        attempts=attempts,
    )
    if message.on_failure:
        import_string(message.on_failure)(message, problem)


def _user(user_id: int | None):
    if user_id is None:
        return None
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id).first()
