"""Whether a person can reset: the one rule (docs/security.md §14), stated once.

Everything that asks — the portal deciding that an identity is proven, the helpdesk's "can
reset" column, filter and sentence, the admin's column and filter, the policy's impact preview
— goes through `ResetRule`: `allows()` for one person in Python, `annotate()` for many in one
query. tests/methods/test_reset_rule.py holds the two to the same answers.

The rule: a privileged account needs two methods other than knowledge methods (security
questions) and may never use them, unless it passed a method the policy lets stand alone for
it (a passkey); anyone else needs the policy's number of methods, where knowledge methods count
(once) only beside another method unless the policy lets them stand alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BooleanField, Case, F, IntegerField, Q, QuerySet, Value, When

PRIVILEGED_REQUIRED = 2


@dataclass(frozen=True)
class Proof:
    """What one person has (or has passed): methods other than knowledge ones, whether a
    knowledge method, and whether a method that alone satisfies a privileged account."""

    others: int
    questions: bool
    privileged: bool
    alone: bool = False


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
            )
        )

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
        select: bool = True,
    ) -> QuerySet:
        """The same rule for every user of `queryset`, in SQL: annotates `sspr_counted` and
        `sspr_can_reset` from integer annotations `others`, `questions` and `alone` (0 or 1).

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
                    Q(**{privileged: True}, sspr_counted__gte=PRIVILEGED_REQUIRED)
                    | Q(**{privileged: True, alone: 1})
                    | Q(**{privileged: False}, sspr_counted__gte=self.required),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
