"""What happens to a temporary access pass: asked for, approved, shown, used, expired.

The rules (the README's "Temporary access pass"):
- one open pass per person: a new one ends the old one;
- never for the issuer's own account;
- an administrator account (methods.reset_rule.is_privileged), or an account that may itself
  approve or issue passes, needs a second person who may approve passes, within
  APPROVAL_MINUTES, before the pass is shown; the requester never approves their own request;
- the pass is shown once and kept only as a keyed hash; no log, audit entry or session holds it;
- every request, approval, issue, use and expiry is an audit event; the person's addresses are
  told when a pass is issued and when it is used.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.log import record
from audit.models import EventKind
from delivery import outbox
from delivery.outbox import Message
from directory.accounts import AccountMissing, DirectoryRefused, DirectoryUnavailable, accounts
from directory.lockout import clear_failures_of
from methods.masking import mask_email
from methods.reset_rule import is_privileged
from policy.models import Policy
from registration.language import in_language_of
from sspr_site.compiled_query import Values
from sspr_site.conf import app_settings as site_settings

from .models import APPROVAL_MINUTES, AccessPass, EndReason

APPROVE_PERMISSION = "accesspass.approve_access_pass"
HELPDESK_PERMISSION = "helpdesk.use_helpdesk"
APPROVERS_GROUP = "Helpdesk administrators"


class Refused(Exception):
    """The pass cannot be issued; `message` says why, in the reader's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


OPENED_MEANWHILE = gettext_lazy(
    "Nothing was issued: this person was given a pass after this page was opened, perhaps in "
    "another tab or by a colleague. A new one would end it. Check which pass the person has; "
    "send the form again only to replace it."
)
# `replaces` of a request that names no pass it expects to end (the command): any is ended.
ANY_PASS = object()


def _holds(user, permission: str) -> bool:
    """A permission given to the person or one of their groups (superusers hold every one)."""
    if user is None or not user.is_active:
        return False
    if user.is_superuser:
        return True
    app_label, codename = permission.split(".")
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .filter(Q(user=user) | Q(group__user=user))
        .exists()
    )


def may_approve(user) -> bool:
    """Members of the Helpdesk administrators group (and superusers)."""
    return _holds(user, APPROVE_PERMISSION)


def needs_two_people(user) -> bool:
    """Administrator accounts (staff; in directory mode the staff group or AD adminCount=1,
    mirrored to is_staff) and accounts that may themselves issue or approve passes: one agent
    alone must not be able to become them."""
    return (
        is_privileged(user)
        or user.is_superuser
        or _holds(user, APPROVE_PERMISSION)
        or _holds(user, HELPDESK_PERMISSION)
    )


def open_pass(user) -> AccessPass | None:
    return AccessPass.objects.filter(user=user, ended_at__isnull=True).first()


# A person's passes not yet ended, read at every reset with SQL built once (compiled_query).
_OPEN_PASSES = Values(
    lambda: AccessPass.objects.filter(ended_at__isnull=True).values_list("pk", "uses"), "user"
)


def end_at_reset(sender, *, user, **kwargs) -> None:
    """The person reset their password at the portal (passwordreset.signals): they hold the
    account again, and a pass given out before (perhaps to someone who fooled the helpdesk)
    signs in no more. Its sessions ended with the old password."""
    _end_open_passes(user, EndReason.PASSWORD_RESET)


def end_at_purge(sender, *, user, **kwargs) -> None:
    """Every recovery record of the account went (methods.lifecycle.purge: a leaver past the
    retention period, or a directory name given to a new entry): a pass given to whoever held
    the account signs in no more, so it cannot open the account of the person who holds the
    name next (docs/security.md, "A name given again")."""
    _end_open_passes(user, EndReason.DATA_REMOVED)


def end_at_report(sender, *, user, **kwargs) -> None:
    """The person said a change of their methods was not theirs (methods/not_me.py): every
    session of the account ended, and so does an open pass, which may be what the change was
    made with, given to someone who fooled the helpdesk (docs/security.md rule 52). The
    helpdesk issues a new one once it has checked the person. How many ended (the report's
    page says whether one did)."""
    return _end_open_passes(user, EndReason.REPORTED)


def _end_open_passes(user, reason: EndReason) -> int:
    """End the person's open passes; how many."""
    now = timezone.now()
    ended = 0
    for pk, uses in _OPEN_PASSES.all(user.pk):
        won = AccessPass.objects.filter(pk=pk, ended_at__isnull=True).update(
            ended_at=now, end_reason=reason, digest=None
        )
        if won:
            _record_end(user, pk, uses, str(reason), now)
            ended += 1
    return ended


def _record_end(user, pass_id: int, uses: int, reason: str, now) -> None:
    record(
        EventKind.ACCESS_PASS_EXPIRED,
        subject=user,
        pass_id=pass_id,
        reason=reason,
        uses=uses,
        ended=now.isoformat(timespec="seconds"),
    )


def expire_due(now=None) -> int:
    """End every pass past its time, once each, with an audit event: issued passes past
    their expiry, and requests not approved (or approved passes not shown) in time. Safe to
    run from several places at once: each pass is ended by one conditional update."""
    now = now or timezone.now()
    due = AccessPass.objects.filter(ended_at__isnull=True).filter(
        Q(expires_at__lte=now) | Q(issued_at__isnull=True, deadline__lte=now)
    )
    ended = 0
    for item in due.select_related("user"):
        reason = EndReason.EXPIRED if item.issued_at else EndReason.APPROVAL_LAPSED
        won = AccessPass.objects.filter(pk=item.pk, ended_at__isnull=True).update(
            ended_at=now, end_reason=reason, digest=None
        )
        if won:
            ended += 1
            record(
                EventKind.ACCESS_PASS_EXPIRED,
                subject=item.user,
                pass_id=item.pk,
                reason=str(reason),
                uses=item.uses,
                # When it ran out; the event is written by the first sweep after that.
                ended=(item.expires_at or item.deadline).isoformat(timespec="seconds"),
            )
    return ended


TURNED_OFF = gettext_lazy(
    "This account is turned off, so a pass could not be used to sign in. Nothing was issued; "
    "the account must be turned on again first."
)


def turned_off(user) -> bool:
    """Whether the account store has the account turned off (docs/security.md §70): a pass
    would never sign it in (accesspass.backends). Unknown when the directory cannot be read:
    then the sign-in's own check still holds."""
    try:
        return bool(accounts().status(user).disabled)
    except (DirectoryUnavailable, DirectoryRefused, AccountMissing):
        return False


def privileged_now(user) -> bool:
    """Whether the account store says the account is an administrator's now (the directory's
    groups; directory.accounts.privileged_now). Unknown when the directory cannot be read: the
    mirror's word stands then, as at sign-in."""
    try:
        return accounts().privileged_now(user)
    except (DirectoryUnavailable, DirectoryRefused, AccountMissing):
        return False


def request_pass(
    *,
    request,
    user,
    agent,
    verification: str,
    note: str,
    check_method: str = "",
    lifetime_minutes: int | None = None,
    approved_by=None,
    replaces=ANY_PASS,
) -> AccessPass:
    """Open a pass for `user`, ending the one they had. Raises Refused. The pass is not made
    yet: reveal() makes it, at once for an ordinary account, after approval otherwise
    (`approved_by` given here counts as that approval: the command's --approved-by).
    `replaces`: the id of the open pass the agent's page showed (None: none); another open
    now (given meanwhile, in another tab or by a colleague) is not ended, and Refused says
    so."""
    if agent is not None and agent.pk == user.pk:
        raise Refused(_("Nobody can issue a temporary access pass for their own account."))
    if turned_off(user):
        raise Refused(TURNED_OFF)
    if not is_privileged(user) and privileged_now(user):
        # Made an administrator in the directory since the mirror last read it: a second
        # person approves, as for any administrator (the mirror learns it now).
        type(user).objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    two_people = needs_two_people(user)
    if two_people and approved_by is None and not has_approver(besides=[user, agent]):
        # A request nobody can approve would only lapse.
        raise Refused(NO_APPROVER)
    if approved_by is not None:
        if not may_approve(approved_by):
            raise Refused(_("The approver is not a Helpdesk administrator."))
        if approved_by.pk == user.pk or (agent is not None and approved_by.pk == agent.pk):
            raise Refused(
                _("The approver must be someone else than the person and the one who asks.")
            )
    policy = Policy.load()
    lifetime = lifetime_minutes or policy.access_pass_lifetime_minutes
    now = timezone.now()
    fields = {
        "requested_by": agent,
        "verification": verification,
        "check_method": check_method,
        "note": note,
        "needs_approval": two_people,
        "single_use": policy.access_pass_single_use,
        "lifetime_minutes": lifetime,
        "requested_at": now,
        "deadline": now + timedelta(minutes=APPROVAL_MINUTES),
    }
    if two_people and approved_by is not None:
        fields.update(approved_by=approved_by, approved_at=now)
    try:
        item, replaced = _open(user, fields, now, replaces)
    except IntegrityError:  # another agent opened one for this person at this very moment
        raise Refused(
            _("Another pass was being issued for this person at the same moment. Try again.")
        ) from None
    details = {
        "pass_id": item.pk,
        "verification": verification,
        "replaced": len(replaced),
    }
    if check_method:
        details["method"] = check_method
    if two_people:
        record(
            EventKind.ACCESS_PASS_REQUESTED, request=request, actor=agent, subject=user, **details
        )
        if approved_by is None:
            notify_approvers(item, agent)
        if approved_by is not None:
            record(
                EventKind.ACCESS_PASS_APPROVED,
                request=request,
                actor=approved_by,
                subject=user,
                pass_id=item.pk,
                requested_by=getattr(agent, "pk", None),
            )
    return item


def _open(user, fields: dict, now, replaces=ANY_PASS) -> tuple[AccessPass, list[AccessPass]]:
    """End the person's open pass and open a new one, in one transaction: one request at a
    time per person (the lock on their row), so that what it ends is what it read."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        replaced = list(
            AccessPass.objects.select_for_update().filter(user=user, ended_at__isnull=True)
        )
        if replaces is not ANY_PASS and any(item.pk != replaces for item in replaced):
            raise Refused(OPENED_MEANWHILE)
        if replaced:
            AccessPass.objects.filter(pk__in=[p.pk for p in replaced]).update(
                ended_at=now, end_reason=EndReason.REPLACED, digest=None
            )
            # Every way a pass ends is an event (docs/security.md rule 56); its reason says
            # "pass", as "replaced" alone is a method's change in the helpdesk's words.
            for item in replaced:
                _record_end(user, item.pk, item.uses, "pass_replaced", now)
        return AccessPass.objects.create(user=user, **fields), replaced


def approve(*, request, item: AccessPass, approver) -> None:
    """The second person's yes. Raises Refused."""
    if not may_approve(approver):
        raise Refused(_("Only a Helpdesk administrator can approve a pass."))
    if approver.pk in (item.requested_by_id, item.user_id):
        raise Refused(
            _("Someone else must approve: not the person, and not the one who asked for it.")
        )
    now = timezone.now()
    won = AccessPass.objects.filter(
        pk=item.pk,
        ended_at__isnull=True,
        needs_approval=True,
        approved_at__isnull=True,
        deadline__gt=now,
    ).update(
        approved_by=approver,
        approved_at=now,
        # Shown within the same time after approval.
        deadline=now + timedelta(minutes=APPROVAL_MINUTES),
    )
    if not won:
        raise Refused(_("This request is no longer waiting for approval."))
    item.refresh_from_db()
    record(
        EventKind.ACCESS_PASS_APPROVED,
        request=request,
        actor=approver,
        subject=item.user,
        pass_id=item.pk,
        requested_by=item.requested_by_id,
    )


def reveal(*, request, item: AccessPass, agent) -> str:
    """Make the pass and return it, once: for the one who asked, and for an administrator
    account only after another person approved it in time. Raises Refused."""
    now = timezone.now()
    if agent is not None and item.requested_by_id != agent.pk:
        raise Refused(_("Only the one who asked for this pass can see it."))
    if item.ended_at is not None or item.issued_at is not None:
        raise Refused(_("This pass was shown already, or has ended. Issue a new one."))
    if item.deadline is not None and item.deadline <= now:
        raise Refused(_("This request was not approved and shown in time. Issue a new one."))
    if item.needs_approval and item.approved_at is None:
        raise Refused(_("This pass is waiting for a Helpdesk administrator's approval."))
    if not item.needs_approval and needs_two_people(item.user):
        # Asked for while one agent was enough; the account has since become one that needs
        # two people (made an administrator, given the helpdesk's rights): what it is when the
        # pass is made decides (docs/security.md rule 50).
        raise Refused(
            _(
                "This account now needs a Helpdesk administrator's approval for a pass. "
                "Issue a new one from the person's page."
            )
        )
    with transaction.atomic():
        # One reveal only, even for two clicks at once.
        won = AccessPass.objects.filter(
            pk=item.pk, ended_at__isnull=True, issued_at__isnull=True
        ).update(issued_at=now)
        if not won:
            raise Refused(_("This pass was shown already, or has ended. Issue a new one."))
        item.refresh_from_db()
        value = item.issue(now)
    # The helpdesk checked who the person is: a lock this site put on the name after failed
    # sign-ins (the person's own, usually) would refuse the pass too, so it is cleared, as a
    # reset clears it.
    cleared = clear_failures_of(item.user)
    record(
        EventKind.ACCESS_PASS_ISSUED,
        request=request,
        actor=agent,
        subject=item.user,
        pass_id=item.pk,
        verification=item.verification,
        lifetime_minutes=item.lifetime_minutes,
        single_use=item.single_use,
        approved_by=item.approved_by_id,
        lockout_cleared=bool(cleared),
    )
    notify(item.user, "issued", item)
    return value


def spend(item: AccessPass, now=None) -> bool:
    """Count one sign-in with a pass that matched, by one conditional update: a single-use pass
    is spent (two sign-ins at once: one wins), a reusable one counted while it lasts."""
    now = now or timezone.now()
    live = AccessPass.objects.filter(
        pk=item.pk, digest=item.digest, ended_at__isnull=True, expires_at__gt=now
    )
    changes = {"uses": F("uses") + 1, "last_used_at": now}
    if item.single_use:
        changes["digest"] = None
    return bool(live.update(**changes))


def used(*, request, item: AccessPass) -> None:
    record(
        EventKind.ACCESS_PASS_USED,
        request=request,
        actor=item.user,
        subject=item.user,
        pass_id=item.pk,
        single_use=item.single_use,
    )
    notify(item.user, "used", item)


def addresses(user) -> list[str]:
    """Every address the person has: the account's and their registered ones."""
    from passwordreset.flows import _user_addresses

    return _user_addresses(user)


NO_APPROVER = gettext_lazy(
    "Nobody can approve a pass for this account: there is no Helpdesk administrator besides you "
    "and the person. Ask an administrator to add one to the Helpdesk administrators group."
)


def has_approver(*, besides) -> bool:
    """Whether anyone but `besides` may approve a pass (with an email address or not: they can
    open the approvals page either way)."""
    return _approvers(besides).exists()


def approvers(*, besides) -> list:
    """Everyone who may approve a pass (Helpdesk administrators, superusers), less `besides`,
    who can be told by email."""
    return list(_approvers(besides).exclude(email=""))


def _approvers(besides):
    app_label, codename = APPROVE_PERMISSION.split(".")
    held = (
        Q(is_superuser=True)
        | Q(
            user_permissions__content_type__app_label=app_label,
            user_permissions__codename=codename,
        )
        | Q(
            groups__permissions__content_type__app_label=app_label,
            groups__permissions__codename=codename,
        )
    )
    return (
        get_user_model()
        .objects.filter(held, is_active=True)
        .exclude(pk__in=[person.pk for person in besides if person is not None])
        .distinct()
    )


def notify_approvers(item: AccessPass, agent) -> None:
    """A request waits: every other approver hears of it, each in their own language, with
    the page that approves it. Names the account, never the pass (there is none yet)."""
    for approver in approvers(besides=[item.user, agent]):
        with in_language_of(approver):
            context = {
                "username": item.user.get_username(),
                "agent": agent.get_username() if agent is not None else "",
                "minutes": APPROVAL_MINUTES,
                "url": f"{site_settings.SITE_URL}{reverse('accesspass:approvals')}",
            }
            outbox.send(
                Message(
                    channel="email",
                    to=approver.email,
                    subject=render_to_string(
                        "accesspass/messages/approval_subject.txt", context
                    ).strip(),
                    body=render_to_string("accesspass/messages/approval.txt", context),
                    language=translation.get_language() or settings.LANGUAGE_CODE,
                    user_id=approver.pk,
                    masked_to=mask_email(approver.email),
                )
            )


def notify(user, what: str, item: AccessPass) -> None:
    """Tell the person, at every address, that a pass was issued or used, in their own
    language (README, "Languages"), not the agent's. Never the pass."""
    with in_language_of(user):
        _notify(user, what, item)


def _notify(user, what: str, item: AccessPass) -> None:
    context = {
        "name": user.get_full_name() or user.get_username(),
        "username": user.get_username(),
        "what": what,
        "when": timezone.localtime(),
        "until": timezone.localtime(item.expires_at) if item.expires_at else None,
        "helpdesk": Policy.load().helpdesk_contact,
        "site_url": site_settings.SITE_URL,
    }
    subject = render_to_string("accesspass/messages/notice_subject.txt", context).strip()
    body = render_to_string("accesspass/messages/notice.txt", context)
    for address in addresses(user):
        outbox.send(
            Message(
                channel="email",
                to=address,
                subject=subject,
                body=body,
                language=translation.get_language() or settings.LANGUAGE_CODE,
                user_id=user.pk,
                masked_to=mask_email(address),
            )
        )
