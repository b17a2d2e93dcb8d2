"""A method's life, written once: added, replaced, used, removed, purged (README,
"Architecture"). Every method's pages call these instead of writing their own bookkeeping, so
every method records the same events the same way (tests/methods/test_contract.py):

- added / replaced: the audit event (METHOD_VERIFIED, or METHOD_CHANGED when it replaced an
  earlier registration of the same method), a new session key (docs/security.md §23), a notice
  to the account's addresses (and a replaced address), the page's own message, then the
  `method_added` signal (the registration app records the registration the moment it is
  complete);
- used: the `method_used` signal, after the method proved its owner at /passwordreset;
- removed: METHOD_REMOVED, a new session key, a notice, the `method_removed` signal (also
  sent, with `request` and `policy` None, when a method is taken away or stops counting with
  no page of the person's: the "That wasn't me" link, methods/not_me.py; a bounce that makes
  it verify again, methods/code/flows.py; `gone`: the directory's office phone taken away,
  the last recovery code spent);
- purged: every method's records of one person gone (a leaver past retention), every row of
  every method, then the `methods_purged` signal (the access pass app ends the account's
  open passes; the caller removes the registration).

Receivers get `sender` (the Method class), `method`, `user`, `request` (None when no page is
involved) and `policy`; `method_added`'s also get `methods`, the person's methods
(methods.registry.UserMethods) as loaded once the change was recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from audit.log import record
from audit.models import EventKind
from delivery import outbox
from delivery.outbox import Message
from sspr_site.compiled_query import OneRow
from sspr_site.conf import app_settings as site_settings

from . import cooling, not_me, pages
from .masking import mask_email
from .models import ChangeAction, MethodChange, SelfServiceBlock

method_added = Signal()
method_used = Signal()
method_removed = Signal()
methods_purged = Signal()
# Sent when an administrator stops offering security questions that people had answered and
# some of them are left short (methods/admin.py), once that is committed, with `request`:
# those answers count no more, so registrations may no longer be complete
# (registration/signals.py ends them).
questions_retired = Signal()


def taken_away(user, method) -> None:
    """`method` was taken away from the person, or no longer counts, with no page of theirs to
    tell (a "That wasn't me" report, a bounce, `gone`): `method_removed` with `request` and
    `policy` None, so that what follows a removal follows (the registration lapses)."""
    method_removed.send(sender=type(method), method=method, user=user, request=None, policy=None)


def gone(user_id: int, kind: str) -> None:
    """The method of `kind` no longer counts for the person (the directory took their office
    phone away, the last recovery code was spent): `taken_away` once this transaction commits."""

    def send() -> None:
        from .registry import method_for_kind  # the registry imports every method; this none

        user = get_user_model().objects.filter(pk=user_id).first()
        if user is not None:
            taken_away(user, method_for_kind(kind))

    transaction.on_commit(send)


def lock_person(user_id: int) -> None:
    """Inside a transaction: hold the person's row until it ends, so that changes to their
    methods made at once (two tabs, two sessions, a double press) are made one after the other,
    each seeing what the one before left. Taken first, before any method's rows.

    A lock that leaves the person's key alone (FOR NO KEY UPDATE): rows that merely refer to
    the person (an audit event, a flag set on many registrations at once, _flag in
    registration/flows.py) are written beside it without waiting, so a statement that holds
    other rows while it writes them cannot deadlock with it. Every change it orders takes it."""
    _PERSON.get(user_id)


# Compiled once per connection (sspr_site/compiled_query.py): built each time, the locking
# query cost more than the rest of a code's confirmation (docs/performance.md).
_PERSON = OneRow(lambda: get_user_model().objects.select_for_update(no_key=True).only("pk"))


def added(
    *,
    request: HttpRequest,
    method,
    policy,
    replaced: bool = False,
    masked: str = "",
    extra_recipients: Sequence[str] = (),
    message: str = "",
    previous: str = "",
    notice_action: str = "",
    **details,
) -> None:
    """`method` was added for the signed-in person (or `replaced` an earlier registration of
    it). Call after the transaction that saved it. `details` go to the audit event (counts and
    kinds only: never a secret, audit/log.py refuses those). `notice_action` words the notice
    where "added" or "changed" would not say what happened (another passkey beside those
    there): a lazy translation, read in the person's language."""
    user = request.user
    kind = EventKind.METHOD_CHANGED if replaced else EventKind.METHOD_VERIFIED
    record(kind, request=request, subject=user, method=str(method.kind), **details)
    # A new step passed: a new session key (docs/security.md §23).
    request.session.cycle_key()
    # Every new or changed method is announced to the account's addresses, so that a method
    # added from a stolen session does not go unnoticed; the notice's "That wasn't me" link
    # names this change (methods/not_me.py).
    change = not_me.record_change(
        user=user,
        method=method,
        action=ChangeAction.REPLACED if replaced else ChangeAction.ADDED,
        # Added by someone who already had methods: it cools off (methods/cooling.py).
        cooling_until=cooling.until_for(request, policy),
        previous=previous,
        in_cooling_session=cooling.changes_uncertain(request),
    )
    from .registry import UserMethods  # the registry imports every method; this module none

    # Loaded once, after the change: the notice's addresses and the completion check.
    methods = UserMethods.load(user)
    notify_method_changed(
        user=user,
        method=method,
        action=translation.gettext("changed") if replaced else translation.gettext("added"),
        action_words=notice_action,
        masked=masked,
        extra_recipients=extra_recipients,
        policy=policy,
        change=change,
        methods=methods,
    )
    if message:
        messages.success(request, message)
    method_added.send(
        sender=type(method),
        method=method,
        user=user,
        request=request,
        policy=policy,
        replaced=replaced,
        methods=methods,
    )


def replaced(**kwargs) -> None:
    """`added`, replacing an earlier registration of the same method."""
    added(replaced=True, **kwargs)


def used(*, request: HttpRequest | None, user, method, policy=None) -> None:
    """`method` proved `user` (at /passwordreset). The portal records its own step event."""
    method_used.send(sender=type(method), method=method, user=user, request=request, policy=policy)


def proved_again(*, request: HttpRequest, method, policy) -> None:
    """The signed-in person proved again what they had already proved (the same number or
    address): no change, so no change record, no cooling-off and no notice whose "That wasn't
    me" link would undo it; an audit event, a new session key, and the page says so. What a
    proof does besides (the registration recorded once complete, the proof before a change,
    the person's language) follows as after `added`."""
    record(
        EventKind.METHOD_VERIFIED,
        request=request,
        subject=request.user,
        method=str(method.kind),
        again=True,
    )
    request.session.cycle_key()  # a step passed (docs/security.md §23)
    messages.success(
        request,
        translation.gettext(
            "%(method)s confirmed again. It was already verified, so nothing changed."
        )
        % {"method": method.label},
    )
    from .registry import UserMethods  # the registry imports every method; this module none

    method_added.send(
        sender=type(method),
        method=method,
        user=request.user,
        request=request,
        policy=policy,
        replaced=False,
        methods=UserMethods.load(request.user),
    )


def removed(
    *,
    request: HttpRequest,
    method,
    policy,
    extra_recipients: Sequence[str] = (),
    message: str = "",
    part_left: bool = False,
    left_cools: bool | None = None,
    notice_action: str = "",
    masked: str = "",
) -> None:
    """The signed-in person removed `method` (or a part of it, such as one passkey, and
    `part_left` when others are left; `notice_action` and `masked` then say which; and
    `left_cools` whether one of those may be a part that cools off, when the method knows:
    otherwise any part left is taken to). Call after the transaction that removed it."""
    user = request.user
    record(EventKind.METHOD_REMOVED, request=request, subject=user, method=str(method.kind))
    request.session.cycle_key()
    change = not_me.record_change(
        user=user,
        method=method,
        action=ChangeAction.REMOVED,
        left_cools=part_left if left_cools is None else left_cools,
    )
    notify_method_changed(
        user=user,
        method=method,
        action=translation.gettext("removed"),
        action_words=notice_action,
        masked=masked,
        extra_recipients=extra_recipients,
        policy=policy,
        change=change,
    )
    if message:
        messages.success(request, message)
    method_removed.send(
        sender=type(method), method=method, user=user, request=request, policy=policy
    )


def remove(*, request: HttpRequest, method, policy, message: str = "") -> bool:
    """Remove the signed-in person's registration of `method` (its own `remove`), then
    `removed`. Return False when there was nothing to remove (nothing is recorded)."""
    with transaction.atomic():
        was_there, extra = method.remove(request.user)
    if was_there:
        removed(
            request=request, method=method, policy=policy, extra_recipients=extra, message=message
        )
    return was_there


def purge(user) -> list[str]:
    """Remove every record every method holds of `user` (README: a leaver's data after the
    retention period), in one transaction. Return the kinds of the methods that had any. No
    notice goes out: the person has left. The caller records why (e.g. DIRECTORY_DATA_REMOVED).
    """
    from .registry import REGISTRY  # the registry imports every method; this module none

    with transaction.atomic():
        lock_person(user.pk)  # first, as the changes that lock the person do (a lapse, say)
        had = [str(method.kind) for method in REGISTRY.values() if method.purge(user)]
        MethodChange.objects.filter(user=user).delete()
        SelfServiceBlock.objects.filter(user=user).delete()
        methods_purged.send(sender=None, user=user, kinds=had)
    return had


def notify_method_changed(
    *,
    user,
    method,
    action: str,
    policy,
    masked: str = "",
    extra_recipients: Sequence[str] = (),
    change=None,
    methods=None,
    action_words="",
) -> None:
    """Tell the account's addresses (its own, every proven personal address a method holds,
    and a replaced address) that a method was added, changed or removed. `action_words` (a
    lazy translation, read in the person's language) say it more exactly where a part of the
    method changed.

    The notice names the method and a masked value only: never a code or a full number.
    """
    from .registry import REGISTRY, UserMethods

    methods = methods if methods is not None else UserMethods.load(user)
    own = [address for m in REGISTRY.values() if (address := m.notice_address(methods))]
    recipients = sorted({address for address in (user.email, *own, *extra_recipients) if address})
    if not recipients:
        return
    context = {
        "name": user.get_full_name() or user.get_username(),
        "username": user.get_username(),
        "masked": masked,
        "when": timezone.localtime(),
        "helpdesk": getattr(policy, "helpdesk_contact", ""),
        "site_url": site_settings.SITE_URL,
        # "That wasn't me": works once, for seven days (methods/not_me.py).
        "not_me_url": not_me.link_for(change) if change is not None else "",
        "not_me_days": not_me.LINK_DAYS,
    }
    # In the person's own language, whatever the page's (README, "Languages").
    with pages.in_language_of(user):
        context["method"] = str(method.label)
        context["action"] = str(action_words) or {
            ChangeAction.ADDED: translation.gettext("added"),
            ChangeAction.REPLACED: translation.gettext("changed"),
            ChangeAction.REMOVED: translation.gettext("removed"),
        }.get(getattr(change, "action", None) or action, action)
        subject = render_to_string("methods/messages/method_changed_subject.txt", context).strip()
        body = render_to_string("methods/messages/method_changed.txt", context)
        language = translation.get_language() or settings.LANGUAGE_CODE
    # One message per recipient, so no recipient sees the other addresses. Queued: a notice
    # that cannot go out never undoes the change itself.
    for address in recipients:
        outbox.send(
            Message(
                channel="email",
                to=address,
                subject=subject,
                body=body,
                language=language,
                user_id=user.pk,
                masked_to=mask_email(address),
            )
        )
