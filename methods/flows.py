"""Actions on recovery methods that span records: send a code, confirm a method, set the
security questions, remove a method. Each runs in a transaction and writes its audit event."""

from __future__ import annotations

import enum
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from audit.log import client_ip, record
from audit.models import EventKind

from . import ratelimit
from .answers import hash_answer
from .backends import DeliveryError, DeliveryProblem
from .models import CheckOutcome, Purpose, SecurityAnswer, SecurityQuestion, VerificationCode
from .registry import CodeMethod, Method, SecurityQuestionsMethod

logger = logging.getLogger("sspr.methods")

SESSION_BINDING_KEY = "sspr_code_binding"


class SendRefusal(enum.Enum):
    COOLDOWN = "cooldown"
    RATE_LIMITED = "rate_limited"
    DELIVERY_FAILED = "delivery_failed"


@dataclass(frozen=True)
class SendResult:
    refusal: SendRefusal | None = None
    problem: DeliveryProblem | None = None
    next_send_at: datetime | None = None

    @property
    def sent(self) -> bool:
        return self.refusal is None


def session_binding(request: HttpRequest) -> str:
    """A random value kept in the session; codes only verify in the session that asked for them.

    It lives in the session data, so it survives the key rotation at each step.
    """
    binding = request.session.get(SESSION_BINDING_KEY)
    if not binding:
        binding = secrets.token_urlsafe(32)
        request.session[SESSION_BINDING_KEY] = binding
    return binding


def code_send(
    *,
    request: HttpRequest,
    user,
    method: CodeMethod,
    purpose: Purpose,
    destination: str,
    channel: str,
) -> SendResult:
    """Send a new code to `destination`, voiding the previous one, unless a limit says no.

    When delivery fails the transaction is rolled back: no live code, no cooldown, and the
    person can try again at once.
    """
    binding = session_binding(request)
    audit = {"method": method.kind.value, "purpose": purpose.value, "channel": str(channel)}
    try:
        with transaction.atomic():
            VerificationCode.objects.get_or_create(
                user=user, method=method.kind, purpose=purpose, defaults={"name": method.kind}
            )
            device = VerificationCode.locked_for(user=user, method=method.kind, purpose=purpose)
            next_at = device.next_send_at()
            if next_at is not None:
                result = SendResult(SendRefusal.COOLDOWN, next_send_at=next_at)
            else:
                # Checked before any gateway call: over a limit, nothing leaves (SECURITY.md 9).
                scope = ratelimit.hit(
                    {
                        "user": str(user.pk),
                        "ip": client_ip(request) or "unknown",
                        "overall": "all",
                        **method.limit_counters(destination),
                    }
                )
                if scope is not None:
                    audit["limit"] = scope
                    result = SendResult(SendRefusal.RATE_LIMITED)
                else:
                    code = device.issue(destination=destination, channel=channel, binding=binding)
                    method.deliver(
                        destination=destination,
                        channel=channel,
                        code=code,
                        language=translation.get_language() or settings.LANGUAGE_CODE,
                    )
                    result = SendResult(next_send_at=device.next_send_at())
    except DeliveryError as exc:
        result = SendResult(SendRefusal.DELIVERY_FAILED, problem=exc.problem)
        audit["problem"] = exc.problem.value
        bounced = exc.problem in (DeliveryProblem.INVALID_NUMBER, DeliveryProblem.INVALID_ADDRESS)
        if bounced and method.unverify(user=user, destination=destination):
            record(
                EventKind.METHOD_UNVERIFIED,
                request=request,
                subject=user,
                method=method.kind.value,
                reason=exc.problem.value,
            )

    if result.sent:
        record(EventKind.CODE_SENT, request=request, subject=user, **audit)
    else:
        record(
            EventKind.CODE_SEND_REFUSED,
            request=request,
            subject=user,
            reason=result.refusal.value,
            **audit,
        )
    return result


def pending_code(*, user, method: Method, purpose: Purpose) -> VerificationCode | None:
    """The code channel with a live code, for showing when the next send is possible."""
    device = VerificationCode.objects.filter(user=user, method=method.kind, purpose=purpose).first()
    return device if device and device.has_live_code() else None


def code_check(
    *, request: HttpRequest, user, method: CodeMethod, purpose: Purpose, code: str
) -> CheckOutcome:
    """Check a code sent for `purpose` (reset, helpdesk check); record the outcome."""
    binding = session_binding(request)
    with transaction.atomic():
        device = VerificationCode.locked_for(user=user, method=method.kind, purpose=purpose)
        outcome = device.check_code(code, binding=binding) if device else CheckOutcome.NO_CODE
        if outcome is CheckOutcome.VERIFIED:
            method.model.objects.filter(user=user).update(last_used_at=timezone.now())
    if outcome is not CheckOutcome.VERIFIED:
        _record_failure(request, user, method, purpose, outcome)
    return outcome


def _record_failure(request, user, method: CodeMethod, purpose: Purpose, outcome) -> None:
    record(
        EventKind.CODE_FAILED,
        request=request,
        subject=user,
        method=method.kind.value,
        purpose=purpose.value,
        reason=outcome.value,
    )


def method_confirm(
    *, request: HttpRequest, user, method: CodeMethod, code: str, policy
) -> CheckOutcome:
    """Check a registration code; on success store the destination it was sent to as verified.

    The code check and the save share one transaction, so a code is never spent without the
    method being saved. Failures are committed (they count towards the backoff).
    """
    binding = session_binding(request)
    previous = None
    with transaction.atomic():
        device = VerificationCode.locked_for(
            user=user, method=method.kind, purpose=Purpose.REGISTER
        )
        outcome = device.check_code(code, binding=binding) if device else CheckOutcome.NO_CODE
        if outcome is CheckOutcome.VERIFIED:
            saved, previous = method.save_verified(user=user, destination=device.destination)

    if outcome is not CheckOutcome.VERIFIED:
        _record_failure(request, user, method, Purpose.REGISTER, outcome)
        return outcome

    kind = EventKind.METHOD_CHANGED if previous else EventKind.METHOD_VERIFIED
    record(kind, request=request, subject=user, method=method.kind.value)
    # A new step passed: a new session key (SECURITY.md 23).
    request.session.cycle_key()
    if previous:
        extra = [previous] if method.field == "email" else []
        notify_method_changed(
            user=user,
            method=method,
            action=translation.gettext("changed"),
            masked=method.mask(str(getattr(saved, method.field))),
            extra_recipients=extra,
            policy=policy,
        )
    return outcome


def questions_set(
    *,
    request: HttpRequest,
    user,
    answers: Sequence[tuple[SecurityQuestion, str]],
    policy,
) -> None:
    """Replace the user's whole set of security answers. `answers` are already normalised."""
    # Hash before the transaction: Argon2 is deliberately slow and needs no lock.
    hashed = [
        SecurityAnswer(user=user, question=question, answer_hash=hash_answer(answer))
        for question, answer in answers
    ]
    with transaction.atomic():
        replaced = SecurityAnswer.objects.filter(user=user).delete()[0] > 0
        SecurityAnswer.objects.bulk_create(hashed)
    record(EventKind.QUESTIONS_SET, request=request, subject=user, count=len(hashed))
    request.session.cycle_key()
    if replaced:
        notify_method_changed(
            user=user,
            method=SecurityQuestionsMethod(),
            action=translation.gettext("changed"),
            policy=policy,
        )


def method_remove(*, request: HttpRequest, user, method: Method, policy) -> bool:
    """Remove a user-managed method. Return False when there was nothing to remove."""
    extra: list[str] = []
    with transaction.atomic():
        if isinstance(method, CodeMethod):
            existing = method.model.objects.select_for_update().filter(user=user).first()
            if existing is None:
                return False
            if method.field == "email" and existing.verified_at:
                extra.append(existing.email)
            existing.delete()
            VerificationCode.objects.filter(user=user, method=method.kind).update(token=None)
        elif isinstance(method, SecurityQuestionsMethod):
            if not SecurityAnswer.objects.filter(user=user).delete()[0]:
                return False
        else:
            return False
    record(EventKind.METHOD_REMOVED, request=request, subject=user, method=method.kind.value)
    notify_method_changed(
        user=user,
        method=method,
        action=translation.gettext("removed"),
        extra_recipients=extra,
        policy=policy,
    )
    return True


def notify_method_changed(
    *,
    user,
    method: Method,
    action: str,
    policy,
    masked: str = "",
    extra_recipients: Sequence[str] = (),
) -> None:
    """Tell the account's own address (and a replaced address) that a method changed.

    The notice names the method and a masked value only: never a code or a full number.
    """
    recipients = sorted({address for address in (user.email, *extra_recipients) if address})
    if not recipients:
        return
    context = {
        "name": user.get_full_name() or user.get_username(),
        "username": user.get_username(),
        "method": method.label,
        "action": action,
        "masked": masked,
        "when": timezone.localtime(),
        "helpdesk": getattr(policy, "helpdesk_contact", ""),
        "site_url": settings.SSPR_SITE_URL,
    }
    subject = render_to_string("methods/messages/method_changed_subject.txt", context).strip()
    body = render_to_string("methods/messages/method_changed.txt", context)
    try:
        # One message per recipient, so no recipient sees the other addresses.
        for address in recipients:
            EmailMessage(subject, body, to=[address]).send()
    except Exception:  # a notice that cannot go out must not undo the change itself
        logger.warning("change notice not sent user=%s method=%s", user.pk, method.kind.value)
