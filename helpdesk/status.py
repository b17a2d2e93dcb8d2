"""What the helpdesk sees of users: registration state and methods, masked, in constant queries."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from methods.registry import REGISTRY
from methods.reset_rule import Proof, ResetRule
from policy.models import Policy
from registration.queries import RegistrationState, with_methods, with_state

SORTS = {
    "username": "username",
    "-username": "-username",
    "state": "sspr_state",
    "-state": "-sspr_state",
    "completed": "sspr_registration__completed_at",
    "-completed": "-sspr_registration__completed_at",
    "confirmed": "sspr_registration__last_confirmed_at",
    "-confirmed": "-sspr_registration__last_confirmed_at",
}


def method_filters() -> dict[str, tuple]:
    """Filter by a method that counts: one per registered method."""
    return {key: (method.label, Q(**{method.flag_name: 1})) for key, method in REGISTRY.items()}


SEARCH_WORDS = 10  # the words of a search looked at (its length is bounded too: SEARCH_LIMIT)


def directory(
    policy: Policy,
    *,
    query: str = "",
    state: str = "",
    method: str = "",
    can_reset: str = "",
    sort: str = "username",
) -> QuerySet:
    """Users in scope, annotated, filtered and sorted; rows carry their methods (one query)."""
    users = policy.scoped_users(get_user_model().objects.all())
    users = with_methods(with_state(users, policy), policy, select_rule=False)
    # The pause after a change reported as not the person's (methods/not_me.py): joined, so
    # that "can reset" is true on every row without a query per row.
    users = users.select_related("sspr_registration", "sspr_block")
    # Each word of the search in one of the fields, as the admin's search takes it: "Alice
    # Andersen" finds the person whose first name is one and last name the other. An email
    # address is found whole: the list shows it masked, and a search by any part of it would
    # spell it out a letter at a time.
    for word in query.split()[:SEARCH_WORDS]:
        found = (
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
        )
        if "@" in word:
            found |= Q(email__iexact=word)
        users = users.filter(found)
    if state in RegistrationState.labels:
        users = users.filter(sspr_state=state)
    filters = method_filters()
    if method in filters:
        users = users.filter(filters[method][1])
    if can_reset == "yes":
        users = users.filter(sspr_can_reset=True, sspr_block__isnull=True)
    elif can_reset == "no":
        users = users.filter(Q(sspr_can_reset=False) | Q(sspr_block__isnull=False))
    return users.order_by(SORTS.get(sort, "username"), "pk")


def _related(user, name: str):
    try:
        return getattr(user, name)
    except ObjectDoesNotExist:
        return None


@dataclass(frozen=True)
class Row:
    """One user as the helpdesk may see them: each method as it shows itself there (masked)."""

    pk: int
    username: str
    name: str
    state: str
    state_label: str
    can_reset: bool
    methods: list[tuple[str, str, str]]  # (key, label, masked) of the methods that count
    other_methods: int
    questions_count: bool
    alone: bool
    is_staff: bool
    completed_at: datetime | None
    confirmed_at: datetime | None
    paused_at: datetime | None = None  # self-service paused (methods/not_me.py)
    fresh: bool = True  # not every method that counts is cooling off (methods/cooling.py)
    paused_reason: str = ""
    # Too many reset attempts started for the name: refused for a day (passwordreset.flows).
    reset_blocked: bool = False

    @property
    def may_reset(self) -> bool:
        """What the pages say: the methods allow it and nothing blocks it for now."""
        return self.can_reset and not self.reset_blocked

    @classmethod
    def of(cls, user, rule: ResetRule) -> Row:
        registration = _related(user, "sspr_registration")
        block = _related(user, "sspr_block")
        shown = []
        for key, method in REGISTRY.items():
            masked = method.masked_many({name: getattr(user, name) for name in method.many_fields})
            if masked:
                shown.append((key, method.label, masked))
        return cls(
            pk=user.pk,
            username=user.get_username(),
            name=user.get_full_name(),
            state=user.sspr_state,
            state_label=str(RegistrationState.labels[user.sspr_state]),
            can_reset=rule.allows_row(user) and block is None,
            methods=shown,
            other_methods=user.sspr_other_methods,
            questions_count=bool(user.sspr_knowledge),
            alone=bool(user.sspr_privileged_alone),
            is_staff=user.is_staff,
            completed_at=registration.completed_at if registration else None,
            # A registration that lapsed shows no confirmation until it is complete again.
            confirmed_at=registration.last_confirmed_at
            if registration and registration.completed_at
            else None,
            paused_at=block.created_at if block else None,
            fresh=bool(getattr(user, "sspr_fresh", 1)),
            paused_reason=str(block.get_reason_display()) if block else "",
        )

    def has(self, key: str) -> bool:
        return any(shown_key == key for shown_key, _label, _masked in self.methods)

    def why(self, policy: Policy) -> str:
        """Why the user can or cannot reset, in a sentence (methods.reset_rule)."""
        if self.paused_at:
            return _("Self-service is paused: %(reason)s.") % {"reason": self.paused_reason}
        if self.reset_blocked:
            return _(
                "Too many reset attempts were started for this name: a reset is refused for a "
                "day, unless the helpdesk lifts the block."
            )
        if not self.fresh:
            return _(
                "Every method that counts is new and cooling off: it counts for a reset on "
                "its own once the cooling-off period ends (see below)."
            )
        rule = ResetRule.of(policy)
        proof = Proof(self.other_methods, self.questions_count, self.is_staff, self.alone)
        needed = rule.needed(self.is_staff)
        if self.is_staff:
            return _(
                "%(count)d of 2 required methods verified (administrator accounts need two, "
                "not counting security questions)."
            ) % {"count": min(rule.counted(proof), needed)}
        counted = min(rule.counted(proof), needed)
        # What a reset needs, which can be fewer than registering asks: said so, beside a
        # state that may read "not registered".
        if counted >= needed:
            text = ngettext(
                "The %(required)d method a reset needs is verified.",
                "The %(required)d methods a reset needs are verified.",
                needed,
            ) % {"required": needed}
        else:
            text = ngettext(
                "%(count)d of the %(required)d method a reset needs verified.",
                "%(count)d of the %(required)d methods a reset needs verified.",
                needed,
            ) % {"count": counted, "required": needed}
        if rule.questions_alone_refused(proof):
            text += " " + _("Security questions alone are not enough.")
        return text


def export_header() -> list[str]:
    return [
        "username",
        "name",
        "state",
        "can_reset",
        *[str(method.kind) for method in REGISTRY.values()],
        "completed_at",
        "last_confirmed_at",
    ]


def export_rows(users: QuerySet, rule: ResetRule) -> Iterator[list]:
    """The export's rows, the values a Row shows, read as plain values: no model object per
    user (the export reads every user in scope). Each method gives its own column."""
    methods = list(REGISTRY.values())
    fields = [name for method in methods for name in method.many_fields]
    values = users.values_list(
        "username",
        "first_name",
        "last_name",
        "sspr_state",
        "sspr_other_methods",
        "sspr_knowledge",
        "is_staff",
        "sspr_privileged_alone",
        "sspr_registration__completed_at",
        "sspr_registration__last_confirmed_at",
        "sspr_block__created_at",
        "sspr_fresh",
        *fields,
    )
    # The rule's answer depends on four small values: worked out once for each combination.
    allows = functools.cache(lambda *proof: rule.allows(Proof(*proof)))
    for row in values.iterator(chunk_size=5000):
        username, first, last, state, others, knowledge, staff, alone, completed, confirmed = row[
            :10
        ]
        paused, fresh = row[10] is not None, bool(row[11])
        by_name = dict(zip(fields, row[12:], strict=True))
        can_reset = allows(others, bool(knowledge), staff, bool(alone), fresh) and not paused
        yield [
            username,
            f"{first} {last}".strip(),
            state,
            "yes" if can_reset else "no",
            *[method.export_value(by_name) for method in methods],
            completed.isoformat() if completed else "",
            # As the pages: no confirmation while the registration has lapsed.
            confirmed.isoformat() if confirmed and completed else "",
        ]
