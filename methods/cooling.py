"""Cooling-off (docs/security.md rule 69; README, "Proof before change").

A method added or replaced by someone who already had methods that can prove who they are
(when the session began) cools off for the policy's `cooling_off_hours` (24 by default): until
then it counts for a reset only together with a method the person had before. Whoever stole a
password and a code cannot add their own phone and reset with it alone the same day. A first
registration, and methods added with a temporary access pass (after the helpdesk checked the
person), do not cool off.

The rule itself stays in methods/reset_rule.py: a proof is `fresh` when none of its methods
cools, or one that counts for the person does not; `allows()` needs it. This module says which
methods cool, for one person in Python and for many in SQL.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import operator

from django.db.models import (
    Case,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Now
from django.http import HttpRequest
from django.utils import timezone

from sspr_site.compiled_query import Values

from .models import ChangeAction, MethodChange

# Whether changes made in this session cool off: decided when it began.
COOLS = "sspr_changes_cool"
MADE_WITH_A_PASS = "sspr_changes_with_a_pass"


def note_sign_in(request: HttpRequest, had_methods: bool) -> None:
    """At sign-in: changes made in this session cool off if the person already had methods."""
    request.session[COOLS] = had_methods


def removed_lately(user, policy) -> bool:
    """Whether the person removed a method within the cooling-off period. Whoever removed the
    last one and signs in again would otherwise add theirs as a first registration, with
    nothing cooling off (docs/security.md rule 69)."""
    hours = getattr(policy, "cooling_off_hours", 0)
    if not hours:
        return False
    since = timezone.now() - datetime.timedelta(hours=hours)
    return MethodChange.objects.filter(
        user=user, action=ChangeAction.REMOVED, created_at__gte=since
    ).exists()


# A part of a method (a passkey) is saved a moment before its change is recorded.
ADDED_WITH_ITS_CHANGE = datetime.timedelta(minutes=1)


def may_cool(user, kind: str, added: list[datetime.datetime]) -> bool:
    """Whether any of the parts of a method left to the person (when each was added) may be
    one that cools off: added no earlier than just before the method's first change still
    cooling. Parts all older than that (the owner's own keys, once the one added since is
    removed) cool no more."""
    since = MethodChange.objects.filter(user=user, method=kind, cooling_until__gt=Now()).aggregate(
        since=Min("created_at")
    )["since"]
    return since is not None and any(at >= since - ADDED_WITH_ITS_CHANGE for at in added)


def from_a_proof(request: HttpRequest) -> None:
    """A proof with a method the person held passed in this session: what it changes from now
    on cools off, as in a session that began when they had one. A session opened while they
    had none, and proved after they came to have one, is no first registration any more."""
    request.session[COOLS] = True


def never_in_this_session(request: HttpRequest) -> None:
    """A session opened with a temporary access pass, after the helpdesk checked the person:
    nothing added in it cools off. What its changes replace is still not taken for certain as
    the person's own when a "That wasn't me" report puts values back (methods/not_me.py): a
    pass may have reached someone who fooled the helpdesk (docs/security.md rules 52, 68)."""
    request.session[COOLS] = False
    request.session[MADE_WITH_A_PASS] = True


def changes_uncertain(request: HttpRequest) -> bool:
    """Whether a change made in this session may be someone else's: one whose changes cool
    off, or one opened with a temporary access pass. What such a change replaced is not put
    back by a "That wasn't me" report when a later change of the same method is reported."""
    return session_cools(request) or bool(request.session.get(MADE_WITH_A_PASS))


def session_cools(request: HttpRequest) -> bool:
    """Whether methods added in this session cool off (the policy's hours aside)."""
    return bool(request.session.get(COOLS))


def until_for(request: HttpRequest, policy) -> datetime.datetime | None:
    """When a method added now in this session stops cooling, or None if it does not cool."""
    hours = getattr(policy, "cooling_off_hours", 0)
    if not hours or not request.session.get(COOLS):
        return None
    return timezone.now() + datetime.timedelta(hours=hours)


# A person's changes with their end of cooling off (sspr_site/compiled_query.py): a reset's code
# and last step ask it. Those over are left out here, by the site's clock.
_CHANGES = Values(
    lambda: MethodChange.objects.filter(cooling_until__isnull=False).values_list(
        "method", "cooling_until"
    ),
    "user",
)


def of(user_id: int | None) -> dict[str, datetime.datetime]:
    """The person's methods that cool off now, by kind, with when each stops (one query)."""
    now = timezone.now()
    found: dict[str, datetime.datetime] = {}
    for kind, until in _CHANGES.all(user_id or 0):
        if until <= now:
            continue
        found[kind] = max(until, found.get(kind, until))
    return found


def reset_from(held, cools: dict, proof, rule) -> datetime.datetime | None:
    """When a person holding `held` (in the reset rule's terms `proof`, methods/reset_rule.py)
    can reset on their own, where only cooling-off stops them now: when the first of their
    methods that cool stops. None when something else stops them, or nothing does. The
    person's overview and the reset portal both say it."""
    if proof.fresh or not rule.allows(dataclasses.replace(proof, fresh=True)):
        return None
    return min((cools[str(m.kind)] for m in held if str(m.kind) in cools), default=None)


def cools_until_sql(kind: str) -> Subquery:
    """When `kind` stops cooling off for the row's person, or NULL (for the query that loads
    one person's methods, methods/registry.py)."""
    changes = (
        MethodChange.objects.filter(user=OuterRef("pk"), method=kind, cooling_until__gt=Now())
        .order_by()
        .values("user")
    )
    # The latest as MAX, not the first row of a sort: no sort of the rows for each method.
    return Subquery(changes.annotate(until=Max("cooling_until")).values("until")[:1])


def is_fresh(methods, cooling: dict, privileged: bool) -> bool:
    """Whether `methods` (held, or passed in a reset attempt) make a fresh proof: none of them
    cools, or one that counts for the person (methods/reset_rule.py, counts_for) and vouches
    for a new one (not security questions) does not."""
    if not any(str(method.kind) in cooling for method in methods):
        return True
    return any(
        str(method.kind) not in cooling
        and method.vouches_for_new
        and (method.counts_for_privileged or not privileged)
        for method in methods
    )


def fresh_sql(methods) -> Case:
    """`is_fresh` for every user of a query annotated with each method's flag (1 when it
    counts): 1 or 0. An Exists per method, asked only of people with a method cooling off."""
    now = timezone.now()

    def cools(kind=None) -> Exists:
        changes = MethodChange.objects.filter(user=OuterRef("pk"), cooling_until__gt=now)
        return Exists(changes.filter(method=kind) if kind is not None else changes)

    def any_fresh(group) -> Q:
        found = [Q(**{method.flag_name: 1}) & ~cools(str(method.kind)) for method in group]
        return functools.reduce(operator.or_, found) if found else Q(pk__in=[])

    vouching = [method for method in methods if method.vouches_for_new]
    for_everyone = [method for method in vouching if method.counts_for_privileged]
    not_for_privileged = [method for method in vouching if not method.counts_for_privileged]
    return Case(
        When(~cools(), then=Value(1)),
        When(any_fresh(for_everyone), then=Value(1)),
        When(any_fresh(not_for_privileged) & Q(is_staff=False), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
