"""The code family's actions that span records: send a code, check it, confirm a method with
it. Each runs in a transaction; what follows a change (audit event, new session key, notice,
completion) is methods/lifecycle.py's. The portals and the helpdesk reach what they call here
through methods/flows.py."""

from __future__ import annotations

import enum
import functools
import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.log import record
from audit.models import EventKind
from delivery import outbox
from delivery.outbox import Message
from methods import lifecycle, ratelimit
from methods.backends import DeliveryProblem
from methods.base import Method
from methods.registry import method_for_kind
from sspr_site.compiled_query import OneRow
from sspr_site.network import client_address, limit_key
from sspr_site.rows import Update

from .method import CodeMethod
from .models import CheckOutcome, Purpose, VerificationCode

logger = logging.getLogger("sspr.methods")

SESSION_BINDING_KEY = "sspr_code_binding"


class SendRefusal(enum.Enum):
    NOT_ALLOWED = "not_allowed"
    COOLDOWN = "cooldown"
    RATE_LIMITED = "rate_limited"
    DELIVERY_FAILED = "delivery_failed"


@dataclass(frozen=True)
class SendResult:
    refusal: SendRefusal | None = None
    problem: DeliveryProblem | None = None
    next_send_at: datetime | None = None
    # The code's row as the send left it (when sent), so the page that follows need not read
    # it again.
    device: VerificationCode | None = field(default=None, compare=False, repr=False)

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
    policy,
    first: bool = False,
) -> SendResult:
    """Send a new code to `destination`, voiding the previous one, unless a limit says no."""
    return code_issue(
        user=user,
        method=method,
        purpose=purpose,
        destination=destination,
        channel=channel,
        policy=policy,
        binding=session_binding(request),
        ip=client_address(request),
        request=request,
        first=first,
    )


def code_issue(
    *,
    user,
    method: CodeMethod,
    purpose: Purpose,
    destination: str,
    channel: str,
    binding: str,
    ip: str | None,
    policy,
    request: HttpRequest | None = None,
    first: bool = False,
    audit_purpose: str | None = None,
) -> SendResult:
    """Issue a code bound to `binding` and queue its message; the worker delivers it.
    `audit_purpose`: what its events name as the purpose, where it is not `purpose` itself
    (a proof before a change uses the reset's codes).

    A code for another destination is voided first, even inside the cooldown: a code sent to
    the number someone corrected away from must never verify the corrected one. A correction is
    not a resend: a code to a different destination goes at once, within the hourly limits
    (docs/security.md §4, §8-9).

    A first code (no row yet for this method and purpose) is written with its row in one
    INSERT: with no row there is no earlier code to void and no cooldown; over a sending limit,
    the row goes again. `first`: a read just before found no row, so that INSERT comes first, in
    no transaction. Otherwise the row is read and locked, and the INSERT made in that
    transaction when there is none. A row there after all (another send wrote it first)
    refuses the insert, and is then read and locked as usual.
    """
    audit = {
        "method": str(method.kind),
        "purpose": audit_purpose or purpose.value,
        "channel": str(channel),
    }
    send = {
        "user": user,
        "method": method,
        "purpose": purpose,
        "destination": destination,
        "channel": channel,
        "binding": binding,
        "ip": ip,
        "policy": policy,
        "audit": audit,
    }
    sent = _send_first(**send) if first else None
    if sent is None:
        with transaction.atomic():
            device = VerificationCode.locked_for(user=user, method=method.kind, purpose=purpose)
            if device is None:  # the first code for this method and purpose
                # Written with its row, in this transaction. Of two first sends at once, one
                # inserts; the row is this transaction's until it commits, so no one else can
                # lock it, and it needs no locked read.
                sent = _send_first(**send)
                if sent is None:
                    # The other send inserted first: its row, once it commits.
                    device = VerificationCode.locked_for(
                        user=user, method=method.kind, purpose=purpose
                    )
                    if device is None:
                        raise IntegrityError("a code row could neither be written nor read")
            if sent is None:
                sent = _send_again(device, **send)
    result, message = sent

    if result.sent:
        # Queued once the code is committed, so the worker never races the row it may void.
        outbox.send(message)
        record(EventKind.CODE_SENT, request=request, ip=ip, subject=user, **audit)
    else:
        record(
            EventKind.CODE_SEND_REFUSED,
            request=request,
            ip=ip,
            subject=user,
            reason=result.refusal.value,
            **audit,
        )
    return result


def _send_first(
    *, user, method, purpose, destination, channel, binding, ip, policy, audit
) -> tuple[SendResult, Message | None] | None:
    """A first code: its row written with the code in one INSERT. None, writing nothing, when a
    row is there after all (another send wrote it first). Counted against the sending limits
    once the row is this send's: one that lost the race meets the other's cooldown, uncounted,
    as any resend does. Over a limit, the row goes again: no code, no cooldown."""
    if not method.destination_allowed(destination, policy):
        return SendResult(SendRefusal.NOT_ALLOWED), None
    issued = VerificationCode.issue_first(
        user=user,
        method=method.kind,
        purpose=purpose,
        destination=destination,
        channel=channel,
        binding=binding,
    )
    if issued is None:
        return None
    device, code = issued
    if scope := _over_limit(user, ip, method, destination, purpose):
        VerificationCode.objects.filter(pk=device.pk).delete()
        audit["limit"] = scope
        return SendResult(SendRefusal.RATE_LIMITED), None
    return _queued(user, method, purpose, destination, channel, device, code)


def _send_again(
    device, *, user, method, purpose, destination, channel, binding, ip, policy, audit
) -> tuple[SendResult, Message | None]:
    """A code on the row there, locked: a correction voids the live code first; otherwise the
    cooldown holds."""
    corrected = bool(device.destination) and device.destination != destination
    if corrected and device.token:
        device.void()
    next_at = None if corrected else device.next_send_at()
    if not method.destination_allowed(destination, policy):
        return SendResult(SendRefusal.NOT_ALLOWED), None
    if next_at is not None:
        return SendResult(SendRefusal.COOLDOWN, next_send_at=next_at), None
    # Checked before anything is queued: over a limit, nothing leaves (docs/security.md §9).
    if scope := _over_limit(user, ip, method, destination, purpose):
        audit["limit"] = scope
        return SendResult(SendRefusal.RATE_LIMITED), None
    code = device.issue(destination=destination, channel=channel, binding=binding)
    return _queued(user, method, purpose, destination, channel, device, code)


def _over_limit(
    user, ip: str | None, method: CodeMethod, destination: str, purpose: Purpose
) -> str | None:
    """Count a send against every sending limit; the scope of the first one it is over, or
    None (methods/ratelimit.py).

    A number's or address's own count is kept apart for registration: the setup page says
    when that limit is reached, and anyone signed in can send codes there to any number.
    Counted with the reset portal's sends (which go out only when a number matches the
    account), a registration's refusal would tell whether the portal had just sent to it,
    and so whose number it is (docs/security.md §9, §12)."""
    counters = method.limit_counters(destination)
    if purpose == Purpose.REGISTER and "destination" in counters:
        counters["destination"] = "register:" + counters["destination"]
    return ratelimit.hit(
        {
            "user": str(user.pk),
            "ip": limit_key(ip) or "unknown",
            "overall": "all",
            **counters,
        }
    )


def _queued(user, method, purpose, destination, channel, device, code):
    """The sent result and the code's message, for the outbox once the code is stored."""
    message = replace(
        method.code_message(
            destination=destination,
            channel=channel,
            code=code,
            helpdesk=purpose == Purpose.HELPDESK,
        ),
        user_id=user.pk,
        on_failure="methods.code.flows.code_undelivered",
        context={"code_id": device.pk, "token": device.token},
    )
    return SendResult(next_send_at=device.next_send_at(), device=device), message


def code_undelivered(message: Message, problem: DeliveryProblem) -> None:
    """The worker gave up on a code: void it, lift the cooldown so the person can correct the
    number or address at once, say why on the code page, and make a bounced method verify
    again."""
    device = VerificationCode.objects.filter(
        pk=message.context.get("code_id"), token=message.context.get("token")
    ).first()
    if device is None:
        return  # a newer code replaced it; that one has its own fate
    VerificationCode.objects.filter(pk=device.pk, token=device.token).update(
        token=None, last_generated_timestamp=None, delivery_problem=problem.value
    )
    bounced = problem in (DeliveryProblem.INVALID_NUMBER, DeliveryProblem.INVALID_ADDRESS)
    method = method_for_kind(device.method)
    if bounced and method.unverify(user=device.user, destination=device.destination):
        record(
            EventKind.METHOD_UNVERIFIED,
            subject=device.user,
            method=str(method.kind),
            reason=problem.value,
        )
        # It no longer counts until verified again: what follows a removal follows (the
        # registration lapses when the rest no longer meets the policy).
        lifecycle.taken_away(device.user, method)


def pending_code(*, user, method: Method, purpose: Purpose) -> VerificationCode | None:
    """The code channel with a live code, for showing when the next send is possible."""
    device = last_code(user=user, method=method, purpose=purpose)
    return device if device and device.has_live_code() else None


# One row per person, method and purpose (sspr_site/compiled_query.py).
_CODE = OneRow(VerificationCode.objects.all, "user", "method", "purpose")


def last_code(*, user, method: Method, purpose: Purpose) -> VerificationCode | None:
    """The code channel, live or not: its destination and whether delivery failed."""
    return _CODE.get(getattr(user, "pk", user), method.kind, purpose)


def code_check(
    *, request: HttpRequest, user, method: CodeMethod, purpose: Purpose, code: str
) -> CheckOutcome:
    """Check a code sent for `purpose` (reset, helpdesk check); record the outcome.

    `user` may be None (an account the reset portal cannot serve): the same locked query and
    the same audit write happen, and the answer is the same refusal (docs/security.md,
    "No enumeration").
    """
    binding = session_binding(request)
    with transaction.atomic():
        device = VerificationCode.locked_for(
            user=user.pk if user else 0, method=method.kind, purpose=purpose
        )
        if device is None:
            # The write a wrong code would cost, against no row: the same statements.
            VerificationCode.objects.filter(pk=None).update(attempts=0)
            outcome = CheckOutcome.NO_CODE
        else:
            outcome = device.check_code(code, binding=binding)
        if outcome is CheckOutcome.VERIFIED and not method.still_registered(
            user.pk, device.destination
        ):
            # Spent all the same: it proves nothing about the number or address there now.
            outcome = CheckOutcome.NO_LONGER_REGISTERED
        if outcome is CheckOutcome.VERIFIED:
            _last_used(method.model).update(user.pk, last_used_at=timezone.now())
    if outcome is not CheckOutcome.VERIFIED:
        _record_failure(request, user, method, purpose, outcome)
    return outcome


@functools.cache
def _last_used(model) -> Update:
    """When a method's code was last used, written once it verifies (sspr_site/rows.py)."""
    return Update(model, ("user",), ("last_used_at",))


def _record_failure(request, user, method: CodeMethod, purpose: Purpose, outcome) -> None:
    record(
        EventKind.CODE_FAILED,
        request=request,
        subject=user,
        method=str(method.kind),
        purpose=purpose.value,
        reason=outcome.value,
    )


def method_confirm(
    *,
    request: HttpRequest,
    user,
    method: CodeMethod,
    code: str,
    policy,
    destination: str | None = None,
    message: str = "",
) -> CheckOutcome | None:
    """Check a registration code; on success store the destination it was sent to as verified.

    The code check and the save share one transaction, so a code is never spent without the
    method being saved. Failures are committed (they count towards the backoff). With
    `destination`, a code sent elsewhere, or none at all, is not checked and nothing is
    recorded: None (the page leads on as it would without a code to check).
    """
    binding = session_binding(request)
    previous, again = None, False
    with transaction.atomic():
        # The person first, as every change of methods (methods.lifecycle.lock_person): a
        # registration lapsing in another tab (registration.flows.registration_lapse) is
        # decided before this method is saved or after, never across it.
        lifecycle.lock_person(user.pk)
        device = VerificationCode.locked_for(
            user=user, method=method.kind, purpose=Purpose.REGISTER
        )
        if destination is not None and (device is None or device.destination != destination):
            return None
        outcome = device.check_code(code, binding=binding) if device else CheckOutcome.NO_CODE
        if outcome is CheckOutcome.VERIFIED:
            saved, previous, again = method.save_verified(user=user, destination=device.destination)

    if outcome is not CheckOutcome.VERIFIED:
        _record_failure(request, user, method, Purpose.REGISTER, outcome)
        return outcome

    if again:
        lifecycle.proved_again(request=request, method=method, policy=policy)
        return outcome

    # The lifecycle (methods/lifecycle.py): audit, new session key, notice, completion.
    lifecycle.added(
        request=request,
        method=method,
        policy=policy,
        replaced=bool(previous),
        masked=method.mask(str(getattr(saved, method.field))),
        extra_recipients=[previous] if previous and method.field == "email" else [],
        message=message,
        previous=previous or "",
    )
    return outcome
