"""Whether a person can reset: the one rule (docs/security.md §14), stated once.

Everything that asks — the portal deciding that an identity is proven and which methods it
still offers, the registration pages deciding what counts and when someone is registered, the
helpdesk's "can reset" column, filter and sentence, the admin's column and filter, the
policy's impact preview — goes through `ResetRule`: `allows()` for one person in Python,
`annotate()` for many in one query. tests/methods/test_reset_rule.py holds the two to the
same answers.

How a method counts is stated by the method (methods/base.py): `counts_alone` (it may be the
one method an ordinary account has; security questions count only beside another, unless the
policy lets them stand alone), `counts_for_privileged` (it counts toward an administrator
account's two; security questions never do) and `privileged_alone(policy)` (it alone satisfies
an administrator account: a passkey). The rule: an administrator account needs two methods
that count for it, or one that may stand alone for it; anyone else needs the policy's number,
where methods that count only beside another count once, and only beside another.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from django.db.models import BooleanField, Case, F, IntegerField, Q, QuerySet, Value, When

PRIVILEGED_REQUIRED = 2


def is_privileged(user) -> bool:
    """Whether the rule treats `user` as an administrator account: staff, as the SQL forms
    below read it (`is_staff`; Django's superusers are staff, and directory mode sets it from
    the staff and superuser groups, directory/backend.py)."""
    return bool(user is not None and user.is_staff)


class KnowledgeStanding(enum.Enum):
    """How one method counts for one person (ResetRule.standing)."""

    COUNTS = "counts"  # on its own as well
    WITH_ANOTHER = "with_another"  # only beside a method of another kind
    NEVER = "never"  # never: it does not count for an administrator account


def counts_for(method, privileged: bool) -> bool:
    """Whether `method` counts at all for an account that is (or is not) an administrator's."""
    return method.counts_for_privileged or not privileged


@dataclass(frozen=True)
class Proof:
    """What one person has (or has passed), of the methods that count for them: how many
    count on their own (`others`), whether one that counts only beside another
    (`questions`), and whether one that alone satisfies an administrator account."""

    others: int
    questions: bool
    privileged: bool
    alone: bool = False
    # None of its methods cools off, or one that counts does not (methods/cooling.py).
    fresh: bool = True


def proof_of(methods, *, privileged: bool, policy, fresh: bool = True) -> Proof:
    """The rule's terms for `methods` (held, or passed in a reset attempt), by what each
    method says of how it counts."""
    counting = [method for method in methods if counts_for(method, privileged)]
    return Proof(
        others=sum(1 for method in counting if method.counts_alone),
        questions=any(not method.counts_alone for method in counting),
        privileged=privileged,
        alone=any(method.privileged_alone(policy) for method in methods),
        fresh=fresh,
    )


@dataclass(frozen=True)
class ResetRule:
    required: int
    questions_alone: bool

    @classmethod
    def of(cls, policy) -> ResetRule:
        return cls(policy.reset_methods_required, policy.questions_alone_allowed)

    def needed(self, privileged: bool) -> int:
        return PRIVILEGED_REQUIRED if privileged else self.required

    def questions_count(self, proof: Proof) -> bool:
        """Whether a method that counts only beside another adds to the count (once)."""
        return proof.questions and (proof.others >= 1 or self.questions_alone)

    def counted(self, proof: Proof) -> int:
        return proof.others + (1 if self.questions_count(proof) else 0)

    def allows(self, proof: Proof) -> bool:
        if not proof.fresh:
            return False
        if proof.privileged and proof.alone:
            return True
        return self.counted(proof) >= self.needed(proof.privileged)

    def allows_row(self, row, *, privileged: str = "is_staff") -> bool:
        """`allows()` for a row annotated by methods.registry.annotate_methods."""
        return self.allows(
            Proof(
                row.sspr_other_methods,
                bool(row.sspr_knowledge),
                bool(getattr(row, privileged)),
                bool(row.sspr_privileged_alone),
                bool(getattr(row, "sspr_fresh", 1)),
            )
        )

    def standing(self, method, privileged: bool) -> KnowledgeStanding:
        """How `method` counts for an account that is (or is not) an administrator's."""
        if not counts_for(method, privileged):
            return KnowledgeStanding.NEVER
        if method.counts_alone or self.questions_alone:
            return KnowledgeStanding.COUNTS
        return KnowledgeStanding.WITH_ANOTHER

    def target(self, proof: Proof, at_least: int = 0) -> int:
        """How many methods must count for this person: the rule's number (none more for an
        administrator account holding a method that may stand alone), and at least
        `at_least` (registration's own number)."""
        if proof.privileged and proof.alone:
            return at_least
        return max(self.needed(proof.privileged), at_least)

    def short_of(self, proof: Proof, at_least: int = 0) -> int:
        """How many more methods that count on their own this person needs before the rule
        allows `proof` with at least `at_least` counted (0: none). Knowledge methods the person
        holds are in `proof`; one beside another method counts as the rule says."""
        # Methods, not time: a proof waiting for a cooling-off to end needs no more of them.
        for more in range(self.target(proof, at_least) + 1):
            grown = replace(proof, others=proof.others + more, fresh=True)
            if self.allows(grown) and self.counted(grown) >= at_least:
                return more
        raise AssertionError("unreachable: enough other methods always satisfy the rule")

    def would_count(self, proof: Proof, method) -> bool:
        """Whether `method` (held or not) counts for this person beside what `proof` holds."""
        if not counts_for(method, proof.privileged):
            return False
        if method.counts_alone:
            return True
        return self.questions_count(replace(proof, questions=True))

    def helps(self, proof: Proof, method) -> bool:
        """Whether passing `method` can bring `proof` closer to `allows()`: what the portal
        still offers once a first method passed."""
        if self.allows(proof) or not counts_for(method, proof.privileged):
            return False
        if method.counts_alone:
            return True
        return not proof.questions and self.would_count(proof, method)

    def questions_alone_refused(self, proof: Proof) -> bool:
        """Questions are all this person has, and they are not enough alone."""
        return (
            proof.questions
            and proof.others == 0
            and not proof.privileged
            and not self.questions_alone
        )

    def annotate(
        self,
        queryset: QuerySet,
        *,
        others: str = "sspr_other_methods",
        questions: str = "sspr_knowledge",
        privileged: str = "is_staff",
        alone: str = "sspr_privileged_alone",
        fresh: str = "sspr_fresh",
        select: bool = True,
    ) -> QuerySet:
        """The same rule for every user of `queryset`, in SQL: annotates `sspr_counted` and
        `sspr_can_reset` from integer annotations `others`, `questions`, `alone` and `fresh`
        (0 or 1).

        With `select=False` the two are only named, for filters and sorting: a page that shows
        rows works the answer out from the row with `allows()` instead, and the database neither
        computes nor returns it (the expression repeats every method's test)."""
        add = "annotate" if select else "alias"
        # `questions` is 1 only for a method that counts for the person (annotate_methods).
        questions_count = Q(**{questions: 1})
        if not self.questions_alone:
            questions_count &= Q(**{f"{others}__gte": 1})
        queryset = getattr(queryset, add)(
            sspr_counted=F(others)
            + Case(
                When(questions_count, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        return getattr(queryset, add)(
            sspr_can_reset=Case(
                When(
                    Q(**{fresh: 1})
                    & (
                        Q(**{privileged: True}, sspr_counted__gte=PRIVILEGED_REQUIRED)
                        | Q(**{privileged: True, alone: 1})
                        | Q(**{privileged: False}, sspr_counted__gte=self.required)
                    ),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
