"""Whether a person can reset: the one rule (docs/security.md §14), stated once.

Everything that asks — the portal deciding that an identity is proven and which methods it
still offers, the registration pages deciding what counts and when someone is registered, the
helpdesk's "can reset" column, filter and sentence, the admin's column and filter, the
policy's impact preview — goes through `ResetRule`: `allows()` for one person in Python,
`annotate()` for many in one query. tests/methods/test_reset_rule.py holds the two to the
same answers.

The rule: a privileged account needs two methods other than knowledge methods (security
questions) and may never use them, unless it passed a method the policy lets stand alone for
it (a passkey); anyone else needs the policy's number of methods, where knowledge methods count
(once) only beside another method unless the policy lets them stand alone.
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
    """How a knowledge method (security questions) counts for one person."""

    COUNTS = "counts"  # on its own as well (the policy lets it stand alone)
    WITH_ANOTHER = "with_another"  # only beside a method of another kind
    NEVER = "never"  # never: an administrator account


@dataclass(frozen=True)
class Proof:
    """What one person has (or has passed): methods other than knowledge ones, whether a
    knowledge method, and whether a method that alone satisfies a privileged account."""

    others: int
    questions: bool
    privileged: bool
    alone: bool = False
    # None of its methods cools off, or one that counts does not (methods/cooling.py).
    fresh: bool = True


@dataclass(frozen=True)
class ResetRule:
    required: int
    questions_alone: bool

    @classmethod
    def of(cls, policy) -> ResetRule:
        return cls(policy.reset_methods_required, policy.questions_alone_allowed)

    def needed(self, privileged: bool) -> int:
        return PRIVILEGED_REQUIRED if privileged else self.required

    def questions_allowed(self, privileged: bool) -> bool:
        return not privileged

    def questions_count(self, proof: Proof) -> bool:
        """Whether the questions add to the count for this person."""
        return (
            proof.questions
            and self.questions_allowed(proof.privileged)
            and (proof.others >= 1 or self.questions_alone)
        )

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

    def knowledge_standing(self, privileged: bool) -> KnowledgeStanding:
        if not self.questions_allowed(privileged):
            return KnowledgeStanding.NEVER
        if self.questions_alone:
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
        """How many more methods other than knowledge ones this person needs before the rule
        allows `proof` with at least `at_least` counted (0: none). Knowledge methods the person
        holds are in `proof`; one beside another method counts as the rule says."""
        # Methods, not time: a proof waiting for a cooling-off to end needs no more of them.
        for more in range(self.target(proof, at_least) + 1):
            grown = replace(proof, others=proof.others + more, fresh=True)
            if self.allows(grown) and self.counted(grown) >= at_least:
                return more
        raise AssertionError("unreachable: enough other methods always satisfy the rule")

    def would_count(self, proof: Proof, knowledge: bool) -> bool:
        """Whether one more method of this kind (or the knowledge method, held or not)
        counts for this person beside what `proof` holds."""
        if not knowledge:
            return True
        return self.questions_count(replace(proof, questions=True))

    def helps(self, proof: Proof, knowledge: bool) -> bool:
        """Whether passing one more method of this kind can bring `proof` closer to
        `allows()`: what the portal still offers once a first method passed."""
        if self.allows(proof):
            return False
        if knowledge:
            return not proof.questions and self.would_count(proof, knowledge=True)
        return True

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
        questions_count = Q(**{questions: 1}, **{privileged: False})
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
