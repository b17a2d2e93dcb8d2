"""The "That wasn't me" link of every change notice (docs/security.md rule 68).

Each added, replaced or removed method is a `MethodChange`; its notice links to
/ssprsetup/not-me/<token>/, the row's id signed with the secret key and the time (no secret of
the person's: it only names the change). The link works for LINK_DAYS, once. Opening it shows
a confirmation page (a GET never acts: mail scanners open links); confirming reverts the change
(a new or replaced method is removed, unless changed again since), ends every session of the
account, and pauses self-service changes and resets for it (`SelfServiceBlock`) until the
helpdesk clears it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone

from audit.log import record
from audit.models import EventKind
from sspr_site import field_keys
from sspr_site.compiled_query import OneRow, Values
from sspr_site.conf import app_settings as site_settings
from sspr_site.rows import Insert
from sspr_site.sessions import end_sessions_of

from .models import BlockReason, ChangeAction, MethodChange, SelfServiceBlock

# A change was reported as not the person's (report): receivers get `user` and `change`; one
# that ended temporary access passes answers how many.
change_reported = Signal()

SALT = "sspr.methods.not-me"


@dataclass(frozen=True)
class Report:
    reverted: bool  # the new or replacing method was removed
    restored: bool  # and the one it replaced is back
    pass_ended: bool = False  # an open temporary access pass ended with the sessions


LINK_DAYS = 7


# A person's changes, and a new one: their SQL built once (sspr_site/compiled_query.py, rows.py).
_CHANGES_OF = Values(
    lambda: MethodChange.objects.values_list("pk", "method", "created_at", "cooling_until"), "user"
)
_NEW_CHANGE = Insert(MethodChange)


def record_change(
    *,
    user,
    method,
    action: str,
    cooling_until=None,
    previous: str = "",
    left_cools: bool = False,
    in_cooling_session: bool = False,
) -> MethodChange:
    """A new change of `user`'s methods. Changes whose links have ended and whose cooling-off
    is over are dropped; an earlier change of the same method stops cooling (this one says
    whether the method cools now), except where a part of the method was removed and what is
    left may be a part that cools (`left_cools`: one passkey of several, another added since
    the method began cooling): it keeps cooling (docs/security.md rule 69)."""
    now = timezone.now()
    kind = str(method.kind)
    link_ended = now - datetime.timedelta(days=LINK_DAYS)
    # One read of the person's changes (a few rows: a week's, and those still cooling) instead
    # of a delete and an update that, in the usual case, find nothing to do.
    ended, cooling = [], []
    for pk, changed, created_at, cools_until in _CHANGES_OF.all(user.pk):
        if created_at < link_ended and (cools_until is None or cools_until <= now):
            ended.append(pk)
        elif changed == kind and cools_until is not None and not left_cools:
            cooling.append(pk)
    if ended:
        MethodChange.objects.filter(pk__in=ended).delete()
    if cooling:
        MethodChange.objects.filter(pk__in=cooling).update(cooling_until=None)
    return _NEW_CHANGE.create(
        user=user,
        method=str(method.kind),
        action=action,
        cooling_until=cooling_until,
        previous=field_keys.seal(previous.encode()) if previous else "",
        in_cooling_session=in_cooling_session,
    )


def changed_lately(user) -> set[str]:
    """The kinds of the person's methods added or replaced within the links' week. While
    self-service is paused, none of them checks a caller at the helpdesk: whoever made the
    reported change may have made these too (docs/security.md rule 68)."""
    since = timezone.now() - datetime.timedelta(days=LINK_DAYS)
    return set(
        MethodChange.objects.filter(
            user=user,
            action__in=[ChangeAction.ADDED, ChangeAction.REPLACED],
            created_at__gte=since,
        ).values_list("method", flat=True)
    )


def changed_since(user_id: int, kinds: list[str], since: datetime.datetime) -> set[str]:
    """Which of these kinds of the person's methods were added, replaced or removed since
    `since` (a reset's start: what passed before may be what was changed)."""
    return set(
        MethodChange.objects.filter(
            user_id=user_id, method__in=kinds, created_at__gt=since
        ).values_list("method", flat=True)
    )


def token_for(change: MethodChange) -> str:
    return signing.dumps(str(change.pk), salt=SALT)


def link_for(change: MethodChange) -> str:
    path = reverse("registration:not_me", kwargs={"token": token_for(change)})
    return f"{site_settings.SITE_URL}{path}"


def change_for(token: str) -> MethodChange | None:
    """The change a link names, while the link is good (signed, at most LINK_DAYS old), used
    already or not (`reported_at`); else None."""
    try:
        change_id = signing.loads(token, salt=SALT, max_age=datetime.timedelta(days=LINK_DAYS))
    except signing.BadSignature:  # altered, or expired (SignatureExpired is one)
        return None
    return (
        MethodChange.objects.select_related("user")
        .filter(pk=change_id if isinstance(change_id, str) else None)
        .first()
    )


# Asked where the person was read without `paused_annotation()` (sspr_site/compiled_query.py).
_BLOCK = OneRow(SelfServiceBlock.objects.all, "user")


def paused_annotation() -> dict:
    """For a query of people: whether self-service is paused for each (`sspr_paused`). The
    signed-in person (methods/apps.py), their methods (methods/registry.py) and the account a
    reset's typed name is (passwordreset/flows.py) are read with it."""
    return {"sspr_paused": Exists(SelfServiceBlock.objects.filter(user=OuterRef("pk")))}


def is_paused(user_id: int | None) -> bool:
    return _BLOCK.get(user_id or 0) is not None


def paused(user) -> bool:
    """Whether self-service is paused for `user`: as read with the person when their query
    said (`paused_annotation`), else asked."""
    known = getattr(user, "sspr_paused", None)
    return bool(known) if known is not None else is_paused(getattr(user, "pk", None))


def undoable(change: MethodChange):
    """The method whose `change` a report would undo, or None: a removal is not undone here
    (the person sets the method up again once the helpdesk has checked them), and only the
    method's latest change is: after a later one (one passkey of several removed included)
    the method may hold the person's own parts, and its removal would take them too; the
    pause holds, and the helpdesk puts it right. The page that asks says which it is."""
    from .registry import REGISTRY

    if change.action not in (ChangeAction.ADDED, ChangeAction.REPLACED):
        return None
    latest = (
        MethodChange.objects.filter(user=change.user_id, method=change.method)
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )
    method = next((m for m in REGISTRY.values() if str(m.kind) == change.method), None)
    if latest != change.pk or method is None or not method.user_managed:
        return None
    if change.action == ChangeAction.REPLACED and not method.undo_removes_only_the_change:
        return None  # another passkey beside the person's own: removing all would take theirs
    return method


def _held_before(change: MethodChange) -> bool:
    """Whether what `change` replaced is the person's for sure, and so is put back: set before
    any change of the method still on record (the links' week, or cooling off), or by one
    made where nobody else could have made it (a first registration; not a session opened
    with a temporary access pass, which may have reached someone who fooled the helpdesk:
    cooling.changes_uncertain). After two replacements in a row in a session whose changes cool
    off, what the second replaced was set by the first, perhaps by the same hand: it is
    removed with the rest, and the person sets the method up again once the helpdesk has
    checked them (docs/security.md rule 68)."""
    earlier = (
        MethodChange.objects.filter(
            user=change.user_id, method=change.method, created_at__lt=change.created_at
        )
        .order_by("-created_at")
        .values_list("in_cooling_session", flat=True)
        .first()
    )
    return not earlier


def report(*, request, change: MethodChange) -> Report | None:
    """The person says `change` was not theirs: revert it (remove the new method, and put back
    the one it replaced where the method can), pause self-service, end every session. None
    when the link was used meanwhile (of two confirmations at once, one acts)."""

    user = change.user
    now = timezone.now()
    reverted = restored = False
    with transaction.atomic():
        claimed = MethodChange.objects.filter(pk=change.pk, reported_at__isnull=True).update(
            reported_at=now
        )
        if not claimed:
            return None
        method = undoable(change)
        if method is not None:
            reverted, _extra = method.remove(user)
            if change.action == ChangeAction.REPLACED and change.previous and _held_before(change):
                try:
                    earlier = field_keys.open_sealed(change.previous).decode()
                except field_keys.InvalidToken:  # the keys changed without the old one
                    earlier = ""
                restored = bool(earlier) and method.restore(user, earlier)
            # Gone (or the person's own again): nothing of it cools off any more.
            MethodChange.objects.filter(user=user, method=change.method).update(
                cooling_until=None, previous=""
            )
        SelfServiceBlock.objects.update_or_create(
            user=user, defaults={"reason": BlockReason.NOT_ME, "change": change, "created_at": now}
        )
    ended = end_sessions_of(user.pk)
    record(
        EventKind.CHANGE_REPORTED,
        request=request,
        # The holder of the person's notice, whoever is signed in in that browser.
        actor=user,
        subject=user,
        method=change.method,
        action=change.action,
        reverted=reverted,
        restored=restored,
        sessions_ended=ended,
    )
    # Recorded first; then what else ends with the account's sessions ends too: an open
    # temporary access pass (accesspass/apps.py), which may be what the change was made with.
    answers = change_reported.send(sender=None, user=user, change=change)
    pass_ended = any(isinstance(ended, int) and ended > 0 for _receiver, ended in answers)
    if reverted and not restored:
        # A method gone, as a removal takes it: what follows from that follows (the
        # registration lapses when the rest no longer meets the policy), with no page to tell.
        from .lifecycle import taken_away  # lifecycle imports this module

        taken_away(user, method)
    return Report(reverted=reverted, restored=restored, pass_ended=pass_ended)


def clear(*, request, user, **details) -> bool:
    """The helpdesk clears a pause (after verifying the person: how, in `details`, for its
    event). Returns whether there was one."""
    cleared = SelfServiceBlock.objects.filter(user=user).delete()[0] > 0
    if cleared:
        record(
            EventKind.SELF_SERVICE_CLEARED,
            request=request,
            actor=request.user,
            subject=user,
            **details,
        )
    return cleared
