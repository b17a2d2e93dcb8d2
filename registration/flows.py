"""Registration as a whole: where a user stands, Finish and confirmation, flags and skips."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from functools import cached_property

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.log import record, wants_event_ids, written_in_bulk
from audit.models import Event, EventKind
from delivery import outbox
from directory.accounts import (
    AccountLocked,
    ChangeUnconfirmed,
    LockoutNear,
    PasswordRefused,
    accounts,
    end_sessions,
)
from directory.lockout import clear_failures_of
from methods import cooling
from methods.lifecycle import lock_person
from methods.registry import MethodStatus, UserMethods, statuses
from methods.reset_rule import (
    KnowledgeStanding,
    Proof,
    ResetRule,
    counts_for,
    is_privileged,
    proof_of,
)
from passwordreset.flows import notify_user
from policy.models import Policy
from sspr_site.compiled_query import OneRow
from sspr_site.network import client_address
from sspr_site.rows import insert_once

from .models import Registration
from .queries import registrations_due, stale_before


@dataclass(frozen=True)
class RegistrationStatus:
    """Where one person stands. What counts, how many are needed and whether they are
    registered all come from the one reset rule (methods.reset_rule) for this person,
    privileged or not, and the policy's number to register: someone registered can reset
    (docs/security.md §14)."""

    policy: Policy
    methods: list[MethodStatus]
    registration: Registration | None
    privileged: bool = False
    # The person's methods cooling off now, by kind, with when each stops (methods/cooling.py).
    cools: dict = field(default_factory=dict)
    # Self-service paused after a change was reported as not theirs (methods/not_me.py).
    paused: bool = False

    @cached_property
    def rule(self) -> ResetRule:
        return ResetRule.of(self.policy)

    @cached_property
    def proof(self) -> Proof:
        """What the person holds, in the rule's terms."""
        held = [status.method for status in self.methods if status.counts]
        return proof_of(
            held,
            privileged=self.privileged,
            policy=self.policy,
            fresh=cooling.is_fresh(held, self.cools, self.privileged),
        )

    @property
    def can_reset_from(self):
        """When every method that counts is new and cooling off: when the first stops (the
        person can reset from then); else None."""
        held = [s.method for s in self.methods if s.counts]
        return cooling.reset_from(held, self.cools, self.proof, self.rule)

    def without(self, method) -> RegistrationStatus:
        """Where the person would stand without `method` (before it is removed)."""
        return replace(self, methods=[s for s in self.methods if s.method is not method])

    def cooling_until(self, method):
        """When `method` stops cooling off, or None."""
        return self.cools.get(str(method.kind))

    @property
    def required(self) -> int:
        return self.rule.target(self.proof, self.policy.methods_required)

    @property
    def verified(self) -> int:
        """Methods that count for this person (never more than required: not "3 of 2")."""
        return min(self.rule.counted(self.proof), self.required)

    @property
    def still_needed(self) -> int:
        """How many more methods (that count on their own) before the person is registered."""
        return self.rule.short_of(self.proof, self.policy.methods_required)

    @property
    def can_finish(self) -> bool:
        return self.still_needed == 0

    @property
    def can_reset(self) -> bool:
        """Whether the reset portal would let the person reset now (methods/reset_rule.py),
        which can need fewer methods than registering does."""
        return self.rule.allows(self.proof)

    def standing(self, method) -> KnowledgeStanding:
        """How `method` counts for this person (methods/reset_rule.py)."""
        return self.rule.standing(method, self.privileged)

    @property
    def knowledge_idle(self) -> bool:
        """A method that counts only beside another is verified but does not count for this
        person: not yet (nothing beside it), or never (an administrator account)."""
        counting = self.counting()
        return any(
            status.counts and not status.method.counts_alone and status not in counting
            for status in self.methods
        )

    @property
    def alone_labels(self) -> list[str]:
        """For an administrator account: methods that may stand alone for it."""
        if not self.privileged:
            return []
        return [str(s.method.label) for s in self.methods if s.method.privileged_alone(self.policy)]

    def counting(self) -> list[MethodStatus]:
        """The verified methods that count for this person."""
        return [
            status
            for status in self.methods
            if status.counts
            and counts_for(status.method, self.privileged)
            and (status.method.counts_alone or self.rule.questions_count(self.proof))
        ]

    @property
    def is_complete(self) -> bool:
        return bool(self.registration and self.registration.completed_at)

    @property
    def reconfirmation_due(self) -> bool:
        """Registered, but flagged by an administrator or older than the policy allows."""
        if not self.is_complete:
            return False
        if self.registration.reconfirmation_required:
            return True
        cutoff = stale_before(self.policy)
        last = self.registration.last_confirmed_at
        return cutoff is not None and (last is None or last < cutoff)

    @property
    def lapses(self) -> bool:
        """Registered, with methods that no longer meet the policy (registration_lapse)."""
        return self.is_complete and not self.can_finish

    @property
    def needs_attention(self) -> bool:
        return not self.is_complete or self.reconfirmation_due or not self.can_finish

    @property
    def skips_left(self) -> int:
        used = self.registration.skips_used if self.registration else 0
        return max(self.policy.skips_allowed - used, 0)

    @property
    def more_advised(self) -> bool:
        """More methods are enabled than required and not all are set up."""
        return sum(1 for status in self.methods if status.counts) < len(self.methods)


# Read on most pages of /ssprsetup (sspr_site/compiled_query.py).
_REGISTRATION = OneRow(Registration.objects.all, "user")


def _registration_of(row, user) -> Registration | None:
    """The person's registration: as read with their methods (registration/apps.py), else
    read now."""
    if row is None or not _JOINED.is_cached(row):
        return _REGISTRATION.get(user.pk)
    return _JOINED.get_cached_value(row)  # None: not registered yet


# The user's side of the registration's one-to-one relation, whose cache the join fills.
_JOINED = Registration._meta.get_field("user").remote_field


def registration_status(
    *, user, policy: Policy | None = None, methods: UserMethods | None = None
) -> RegistrationStatus:
    """Load everything the overview shows, in a fixed number of queries (`methods`: the
    person's methods when the caller has just loaded them)."""
    policy = policy or Policy.load()
    methods = methods if methods is not None else UserMethods.load(user)
    registration = _registration_of(methods.user, user)
    return RegistrationStatus(
        policy,
        statuses(methods, policy),
        registration,
        privileged=is_privileged(user),
        cools=methods.cooling,
        paused=methods.paused,
    )


def registration_finish(
    *,
    request: HttpRequest,
    user,
    policy: Policy,
    status: RegistrationStatus | None = None,
    confirming: bool = True,
) -> EventKind | None:
    """Record the registration, or its confirmation, if the verified methods meet the policy.
    `status` is the user's status when the caller has just loaded it. Not `confirming` (the
    registration recorded the moment a method makes it complete): a registration that had
    lapsed (registration_lapse) is complete again, but a confirmation it owed is still owed.

    Return REGISTRATION_COMPLETED or REGISTRATION_CONFIRMED, or None when refused.
    """
    status = status or registration_status(user=user, policy=policy)
    if not status.can_finish:
        return None
    known = status.registration
    before = known is not None and known.completed_at is None and known.last_confirmed_at
    first = _store_finish(user, known, timezone.now(), confirming=confirming)
    kind = EventKind.REGISTRATION_COMPLETED if first else EventKind.REGISTRATION_CONFIRMED
    record(
        kind,
        request=request,
        subject=user,
        methods=sorted(str(s.method.kind) for s in status.counting()),
        **({"registered_before": True} if first and before else {}),
    )
    return kind


def _store_finish(user, known: Registration | None, now, *, confirming: bool = True) -> bool:
    """Store the registration as completed now (True: the first time) or confirmed now. Not
    `confirming`, a registration that lapsed keeps its last confirmation and any flag.

    One statement where the person's row is as `known` says (none yet; or there, completed or
    not), each decided by the database on its own, so two requests at once record one
    completion: the row is inserted once (the other meets the unique key), and "completed if
    not yet" is one conditional update. When the row is not as expected, it is read under a
    lock and written."""
    fields = {"last_confirmed_at": now, "reconfirmation_required": False}
    rows = Registration.objects
    if known is None:
        if insert_once(Registration, user=user, completed_at=now, **fields):
            return True
        # made meanwhile: read it below
    elif known.completed_at is None:
        again = fields if confirming or known.last_confirmed_at is None else {}
        if rows.filter(pk=known.pk, completed_at__isnull=True).update(completed_at=now, **again):
            return True
    elif rows.filter(pk=known.pk, completed_at__isnull=False).update(**fields):
        return False
    with transaction.atomic():
        registration, _created = rows.select_for_update().get_or_create(user=user)
        first = registration.completed_at is None
        if first:
            registration.completed_at = now
        if confirming or registration.last_confirmed_at is None:
            registration.last_confirmed_at = now
            registration.reconfirmation_required = False
        registration.save()
    return first


def registration_lapse(
    *,
    request: HttpRequest | None,
    user,
    policy: Policy,
    status: RegistrationStatus | None = None,
    reason: str = "",
    actor=None,
) -> bool:
    """A registration whose methods no longer meet the policy (a method removed, taken away or
    no longer counting: any `method_removed`, registration/signals.py; or a policy that asks
    more, lapse_short) is registered no longer: the lists, the admin's counts and the
    reminders read "not registered", as the person's own overview does, until the methods
    meet it again and the registration is recorded anew (registration/pages.py,
    record_when_complete). `status`: the person's, when the caller has just read it. Whether
    it lapsed now."""
    status = status or registration_status(user=user, policy=policy)
    if not status.lapses:
        return False  # as most removals leave it: decided without a lock
    with transaction.atomic():
        # Read again under the person's lock (two removals at once lapse once): a method
        # added meanwhile in another tab is counted, and the lapse and its event are one.
        lock_person(user.pk)
        status = registration_status(user=user, policy=policy, methods=UserMethods.load(user))
        if not status.lapses:
            return False
        # Its last confirmation and any flag stay: registered again, the person still owes
        # what they owed (registration_finish).
        Registration.objects.filter(user=user).update(completed_at=None)
        record(
            EventKind.REGISTRATION_LAPSED,
            request=request,
            actor=actor,
            subject=user,
            methods_left=sorted(str(s.method.kind) for s in status.counting()),
            **({"reason": reason} if reason else {}),
        )
    return True


# People whose registration lapse_short checks in one query, and how long one job goes on
# before it queues the rest (well inside the queue's two-minute limit on a job).
LAPSE_BATCH = 500
LAPSE_JOB_SECONDS = 30


def lapse_short(
    *, after: int = 0, actor_id: int | None = None, reason: str = "policy_changed"
) -> None:
    """Registrations no longer complete lapse (registration_lapse), so that someone shown as
    registered can reset (docs/security.md rule 14): after a policy asking more (policy.
    signals.policy_tightened) or security questions no longer offered (methods.lifecycle.
    questions_retired); `reason`, what each lapse's event says. A job; in the worker, one that
    has run LAPSE_JOB_SECONDS queues the rest as another job."""
    started = time.monotonic()
    for checked, _lapsed, last in lapse_batches(after=after, actor_id=actor_id, reason=reason):
        more = checked == LAPSE_BATCH
        if more and outbox.uses_queue() and time.monotonic() - started > LAPSE_JOB_SECONDS:
            outbox.later(
                "registration.flows.lapse_short", after=last, actor_id=actor_id, reason=reason
            )
            return


def lapse_batches(*, after: int = 0, actor_id: int | None = None, reason: str = "policy_changed"):
    """lapse_short's work, a batch at a time: the registered people in the order of their ids
    from after `after`, each batch's methods in one query, against the policy as it is when
    the batch begins. Yields, for each batch, how many were checked and how many lapsed, and
    the last id checked (the next batch starts after it). Run again, it finds those it ended
    already ended (a lapse is decided under the person's lock). Each lapse's event names
    `actor_id`, the administrator who saved the policy or retired the questions, while their
    account is there, and `reason`."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    while True:
        policy = Policy.load()
        ids = list(
            Registration.objects.filter(completed_at__isnull=False, user_id__gt=after)
            .order_by("user_id")
            .values_list("user_id", flat=True)[:LAPSE_BATCH]
        )
        if not ids:
            return
        lapsed = 0
        for methods in UserMethods.load_many(ids):
            status = registration_status(user=methods.user, policy=policy, methods=methods)
            lapsed += registration_lapse(
                request=None,
                user=methods.user,
                policy=policy,
                status=status,
                reason=reason,
                actor=actor,
            )
        after = ids[-1]
        yield len(ids), lapsed, after
        if len(ids) < LAPSE_BATCH:
            return


def registration_skip(*, request: HttpRequest, user, policy: Policy) -> bool:
    """Use one of the allowed postponements at sign-in. Return False when none is left."""
    with transaction.atomic():
        registration, _created = Registration.objects.select_for_update().get_or_create(user=user)
        if registration.skips_used >= policy.skips_allowed:
            return False
        registration.skips_used += 1
        registration.save(update_fields=["skips_used"])
    record(
        EventKind.REGISTRATION_SKIPPED,
        request=request,
        subject=user,
        skips_used=registration.skips_used,
        skips_allowed=policy.skips_allowed,
    )
    return True


def registrations_flag(*, users: QuerySet, request: HttpRequest | None = None) -> int:
    """Require the given users to confirm their registration again. Return how many."""
    pending = Registration.objects.filter(
        user__in=users.values("pk"), completed_at__isnull=False, reconfirmation_required=False
    )
    return _flag(pending, request=request, reason="administrator")


def registrations_flag_stale(*, policy: Policy) -> int:
    """Flag every registration older than the policy allows, with one set-based update."""
    return _flag(
        registrations_due(policy).filter(reconfirmation_required=False),
        request=None,
        reason="stale",
    )


def _flag(pending: QuerySet, *, request: HttpRequest | None, reason: str) -> int:
    """Flag the registrations of `pending` and write an audit row for each, in the database: the
    rows never travel to the site, so a sweep over a million registrations costs what the
    statements cost. The audit rows name exactly the registrations updated."""
    actor = request.user if request is not None and request.user.is_authenticated else None
    values = [
        timezone.now(),
        actor.pk if actor else None,
        str(EventKind.REGISTRATION_FLAGGED),
        client_address(request),
        json.dumps({"reason": reason}),
    ]
    chosen, params = pending.values("pk").query.sql_with_params()
    registrations = connection.ops.quote_name(Registration._meta.db_table)
    events = connection.ops.quote_name(Event._meta.db_table)
    columns = "(created_at, actor_id, subject_id, kind, ip, details)"
    # The statements below are built from quoted table names and the query Django compiled;
    # every value is a parameter (hence the noqa: S608 on each).
    # The events' ids read back only for the SIEM (audit.log.written_in_bulk).
    returning = " RETURNING id" if wants_event_ids() else ""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: what it updates is what it records.
            cursor.execute(
                f"WITH flagged AS (UPDATE {registrations} SET reconfirmation_required = true "  # noqa: S608
                f"WHERE id IN ({chosen}) RETURNING user_id) "
                f"INSERT INTO {events} {columns} "
                f"SELECT %s, %s, user_id, %s, %s, %s::jsonb FROM flagged{returning}",
                [*params, *values],
            )
            count = cursor.rowcount
            ids = [row[0] for row in cursor.fetchall()] if returning else None
        else:
            # SQLite: the transaction holds the write lock from its start, so the two
            # statements see the same rows.
            cursor.execute(
                f"INSERT INTO {events} {columns} SELECT %s, %s, user_id, %s, %s, %s "  # noqa: S608
                f"FROM {registrations} WHERE id IN ({chosen}){returning}",
                [*values, *params],
            )
            ids = [row[0] for row in cursor.fetchall()] if returning else None
            cursor.execute(
                f"UPDATE {registrations} SET reconfirmation_required = true "  # noqa: S608
                f"WHERE id IN ({chosen})",
                params,
            )
            count = cursor.rowcount
    written_in_bulk(
        EventKind.REGISTRATION_FLAGGED,
        count,
        ids,
        actor_id=actor.pk if actor else None,
        reason=reason,
    )
    return count


def password_change(*, request: HttpRequest, user, current: str, new: str) -> None:
    """Change a known password in the account store, as the person (in the directory, over
    their own bind, so every rule of its policy applies).

    Raises PasswordRefused (nothing changed; the reason is for the page), DirectoryUnavailable,
    DirectoryRefused, or TooManyWrongPasswords: a wrong current password counts as a failed
    sign-in of the account, under the same limit, so a session left open is no oracle for
    guessing the password and no way to make the directory lock it (docs/security.md §36, §40).
    """
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        raise TooManyWrongPasswords
    store = accounts()
    try:
        store.change_password(user, current, new)
    except AccountLocked as error:
        raise TooManyWrongPasswords(by_directory=True, locked=True) from error
    except LockoutNear as error:
        raise TooManyWrongPasswords(by_directory=True) from error
    except ChangeUnconfirmed:
        # It may have been set: every other session ends, as a new password's would; this
        # one stays, and the audit log says what is known.
        end_sessions(user)
        update_session_auth_hash(request, user)
        record(EventKind.PASSWORD_UNCONFIRMED, request=request, subject=user, store=store.kind)
        raise
    except PasswordRefused as refusal:
        if refusal.reason == "wrong_current":
            AxesProxyHandler.user_login_failed(__name__, credentials, request)
            # This page says so itself, at the next try (no lockout page in its place).
            request.axes_locked_out = False
            # A wrong password, counted as a failed sign-in: recorded as one, not as a new
            # password the account store refused.
            record(EventKind.SIGN_IN_FAILED, request=request, subject=user, reason=refusal.reason)
        else:
            record(EventKind.PASSWORD_REFUSED, request=request, subject=user, reason=refusal.reason)
        raise
    clear_failures_of(user)
    # This session stays signed in; every other one ends.
    update_session_auth_hash(request, user)
    record(EventKind.PASSWORD_CHANGED, request=request, actor=user, subject=user, store=store.kind)
    if Policy.load().notify_users_on_reset:
        notify_user(user, "change")


class TooManyWrongPasswords(Exception):
    """`by_directory`: the directory's own count of failures holds the try (one more could
    lock the account there), not the site's lockout, which ends within the hour; `locked`:
    the directory has locked the account already."""

    def __init__(self, by_directory: bool = False, locked: bool = False):
        super().__init__()
        self.by_directory = by_directory
        self.locked = locked
