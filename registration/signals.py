from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from redis.exceptions import RedisError

from audit.log import record
from audit.models import EventKind
from delivery import outbox
from directory.lockout import sign_in_name
from directory.mirror import made_staff
from methods import cooling, proof
from methods.flows import session_binding
from methods.lifecycle import method_added, method_removed, questions_retired
from policy.models import Policy
from policy.signals import policy_tightened

from .flows import registration_lapse
from .session import CHECK_AFTER_SIGN_IN, mark_password_checked

logger = logging.getLogger(__name__)


@receiver(user_logged_in)
def remember_sign_in(sender, request, user, **kwargs):
    if request is None:
        return
    mark_password_checked(request)
    request.session[CHECK_AFTER_SIGN_IN] = True
    # The session's code binding, made now: two code sends at once later (a double press, two
    # tabs) would otherwise each make one, and the code sent be bound to the one not kept.
    session_binding(request)
    # Methods added in this session cool off if the person already had some (methods/cooling.py).
    # So do they after the person removed a method lately: with the last one removed, the
    # next sign-in would otherwise be a first registration, with nothing cooling off.
    policy = Policy.load()
    cooling.note_sign_in(
        request,
        proof.change_needs_proof(user, policy) or cooling.removed_lately(user, policy),
    )
    record(EventKind.SIGNED_IN, request=request, actor=user, subject=user)


@receiver(user_login_failed)
def audit_failed_sign_in(sender, credentials, request=None, **kwargs):
    # Recorded against the account the name resolves to, so the helpdesk sees a person's
    # failed sign-ins; a name that matches no account (perhaps a password pasted in the wrong
    # box) is not written anywhere.
    name = sign_in_name(request, credentials)
    User = get_user_model()
    subject = User.objects.filter(**{User.USERNAME_FIELD: name}).first() if name else None
    # A try while the name is locked was refused before any password check: it says so. (The
    # failure that sets the lock was checked, and counted: django-axes says how many.)
    refused_unchecked = (
        getattr(request, "axes_locked_out", False)
        and getattr(request, "axes_failures_since_start", None) is None
    )
    locked = {"reason": "locked_out"} if refused_unchecked else {}
    record(EventKind.SIGN_IN_FAILED, request=request, subject=subject, **locked)


def proves_now(user, policy, method, methods) -> bool:
    """Whether `method`, just verified, could prove who the person is before a change: not
    while it cools off and an older method can (docs/security.md rule 69). Else a method
    added in a proven sitting, or one cooling off confirmed again, would itself stand as a
    proof, and keep one alive with no check against an older method."""
    return method in proof.proving_methods(user, policy, methods)


@receiver(method_added)
def registration_when_complete(sender, request, policy, method=None, methods=None, **kwargs):
    """The moment a new method makes the person's methods meet the policy, the registration
    is recorded (registration/pages.py, record_when_complete). Verifying a method that can
    prove who the person is (one that counts on its own) is itself a proof with it, so the next
    change in this sitting is not asked for another (methods/proof.py), unless it cools off."""
    if request is not None:
        if method is not None and proves_now(request.user, policy, method, methods):
            proof.mark_proved(request)
            proof.note_added_here(request, method)
        from .pages import record_when_complete

        record_when_complete(request, policy, methods=methods)


@receiver(method_removed, dispatch_uid="sspr_registration_when_short")
def registration_when_short(sender, user, policy=None, request=None, **kwargs):
    """The moment a removal leaves the person's methods short of the policy, the registration
    lapses (registration.flows.registration_lapse), and the page says what it means."""
    policy = policy or Policy.load()  # None when no page asked (methods.lifecycle.taken_away)
    if registration_lapse(request=request, user=user, policy=policy) and request is not None:
        messages.warning(
            request,
            _(
                "You no longer have the methods your organisation requires, so you are not "
                "registered any more. Add a method to be registered again."
            ),
        )


def _lapse_check_queued(request, reason: str, unchecked: str) -> bool:
    """Every registration checked against the policy as it now is (registration.flows.
    lapse_short, its lapses naming the administrator of `request` and `reason`); False, with
    `unchecked` logged, when the queue did not take the job."""
    actor = request.user if request is not None and request.user.is_authenticated else None
    try:
        outbox.later(
            "registration.flows.lapse_short", actor_id=actor.pk if actor else None, reason=reason
        )
    except RedisError:
        logger.error("queue unreachable: %s", unchecked)
        return False
    return True


@receiver(policy_tightened, dispatch_uid="sspr_registration_when_tightened")
def registrations_when_tightened(sender, policy, request=None, ending=0, **kwargs):
    """A policy that asks more ends the registrations it no longer finds complete, in the
    worker (registration.flows.lapse_short; without a queue, once the page is answered), and
    the admin's page says how many."""
    if not _lapse_check_queued(
        request, "policy_changed", "registrations not checked against the new policy"
    ):
        # The policy is saved, as the page says; the registrations are checked the next time
        # a policy asking more is saved, or by the end_short_registrations command.
        if request is not None and ending:
            messages.error(
                request,
                ngettext(
                    "The policy is saved, but the %(count)s registration that no longer meets "
                    "it could not be ended: the queue did not answer. Run the "
                    "end_short_registrations command.",
                    "The policy is saved, but the %(count)s registrations that no longer meet "
                    "it could not be ended: the queue did not answer. Run the "
                    "end_short_registrations command.",
                    ending,
                )
                % {"count": ending},
            )
        return
    if request is not None and ending:
        messages.warning(
            request,
            ngettext(
                "%(count)s registration no longer meets this policy. It ends within minutes, "
                "as every registration is checked: that person is then shown as not "
                "registered, and their history says why.",
                "%(count)s registrations no longer meet this policy. They end within minutes, "
                "as every registration is checked: those people are then shown as not "
                "registered, and each one's history says why.",
                ending,
            )
            % {"count": ending},
        )


@receiver(questions_retired, dispatch_uid="sspr_registration_when_questions_retired")
def registrations_when_questions_retired(sender, request=None, **kwargs):
    """Answers to questions no longer offered count nowhere: the registrations that no longer
    meet the policy without them end, as after a policy asking more (lapse_short). The admin's
    page already says whose answers stopped counting; it says so too when the queue could not
    take the check."""
    queued = _lapse_check_queued(
        request, "question_retired", "registrations not checked after questions retired"
    )
    if not queued and request is not None:
        messages.error(
            request,
            _(
                "The registrations of people left short by the retired questions could not "
                "be ended: the queue did not answer. Run the end_short_registrations command."
            ),
        )


@receiver(made_staff, dispatch_uid="sspr_registration_when_made_staff")
def registrations_when_made_staff(sender, user_ids, **kwargs):
    """People the directory made staff are held to the administrators' rule (two methods,
    never security questions): a registration that falls short of it ends (the user admin's
    box does the same for one person, registration/admin.py)."""
    policy = Policy.load()
    for user in get_user_model().objects.filter(
        pk__in=user_ids, sspr_registration__completed_at__isnull=False
    ):
        registration_lapse(request=None, user=user, policy=policy, reason="made_staff")
