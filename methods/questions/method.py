"""Security questions: answers to questions from the approved list, kept only as hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import formats, translation
from django.utils.translation import gettext_lazy as _

from methods.base import Method, MethodState, MethodStatus
from methods.models import MethodKind, SecurityAnswer


@dataclass(frozen=True)
class Answers:
    count: int
    updated_at: datetime | None


def _count_field(label, help_text):
    return forms.TypedChoiceField(
        label=label,
        choices=[(n, str(n)) for n in (3, 4, 5)],
        coerce=int,
        initial=3,
        help_text=help_text,
    )


class SecurityQuestionsMethod(Method):
    kind = MethodKind.SECURITY_QUESTIONS
    slug = "questions"
    key = "questions"
    label = MethodKind.SECURITY_QUESTIONS.label
    summary = _(
        "Questions from a list your organisation approved, with answers only you know. Nobody, "
        "not even the helpdesk, can see your answers."
    )
    # Answers someone may know or guess: only beside another method, never for an
    # administrator account (methods/reset_rule.py).
    counts_alone = False
    shows_the_persons_own = True
    counts_for_privileged = False
    # Nor do they let a new method count at once: whoever added their own phone with a stolen
    # password may know or find the answers too.
    vouches_for_new = False
    setup_urlconf = "methods.questions.setup_urls"
    reset_urlconf = "methods.questions.reset_urls"
    enabled_by_default = True
    option_fields = {
        "count": _count_field(
            _("questions to register"), _("How many questions a user answers (3 to 5).")
        ),
        "reset_count": _count_field(
            _("questions to reset"),
            _(
                "How many questions are asked when someone resets their password (3 to 5, not "
                "more than to register)."
            ),
        ),
    }

    def clean_options(self, options: dict) -> dict:
        if options.get("reset_count", 3) > options.get("count", 3):
            raise ValidationError(
                {
                    "reset_count": _(
                        "Ask at most as many questions for a password reset as people answer "
                        "when they register (%(register)d)."
                    )
                    % {"register": options.get("count", 3)}
                }
            )
        return options

    def note(self, policy) -> str:
        if policy.questions_alone_allowed:
            return ""
        return str(_("For a password reset they count only together with another method."))

    def load_one(self, queryset: QuerySet) -> QuerySet:
        # Subqueries, not a join counted with GROUP BY: the person's methods load in one query
        # (methods/registry.py), which a GROUP BY over all of its columns made about 40% dearer.
        # Answers to questions still offered: a retired question is never asked at the
        # portal (reset.py), so its answer counts nowhere.
        answers = (
            SecurityAnswer.objects.filter(user=OuterRef("pk"), question__active=True)
            .order_by()
            .values("user")
        )
        return queryset.annotate(
            sspr_answer_count=Coalesce(
                Subquery(answers.annotate(n=Count("pk")).values("n")[:1]),
                Value(0),
                output_field=IntegerField(),
            ),
            sspr_answers_updated_at=Subquery(
                answers.annotate(at=Max("created_at")).values("at")[:1]
            ),
        )

    def from_row(self, row) -> Answers:
        if row is None:
            return Answers(0, None)
        return Answers(row.sspr_answer_count, row.sspr_answers_updated_at)

    def status(self, methods, policy) -> MethodStatus:
        answers = methods[self.key]
        if not answers.count:
            return MethodStatus(self, MethodState.NOT_SET)
        enough = answers.count >= self.option(policy, "count")
        text = translation.ngettext(
            "%(count)d question answered", "%(count)d questions answered", answers.count
        ) % {"count": answers.count}
        return MethodStatus(
            self,
            MethodState.VERIFIED if enough else MethodState.INCOMPLETE,
            value=text,
            masked=text,
            updated_at=answers.updated_at,
            count=answers.count,
        )

    def usable_at_reset(self, methods, policy) -> bool:
        # The portal asks `reset_count` of them (methods/questions/reset.py), which may be fewer
        # than a registration asks for: as count_condition.
        return methods[self.key].count >= self.option(policy, "reset_count")

    def admin_text(self, status: MethodStatus) -> str:
        count = status.count
        if not count:
            return str(_("Not configured"))
        return translation.ngettext(
            "Configured: %(count)d question, updated %(date)s",
            "Configured: %(count)d questions, updated %(date)s",
            count,
        ) % {"count": count, "date": formats.date_format(status.updated_at)}

    def remove(self, user) -> tuple[bool, list[str]]:
        return bool(SecurityAnswer.objects.filter(user=user).delete()[0]), []

    # --- Many people ------------------------------------------------------------------------

    def annotate_many(self, queryset: QuerySet, policy) -> QuerySet:
        answers = Coalesce(
            Subquery(
                SecurityAnswer.objects.filter(user=OuterRef("pk"), question__active=True)
                .order_by()
                .values("user")
                .annotate(n=Count("pk"))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
            Value(0, output_field=IntegerField()),
        )
        return super().annotate_many(queryset.annotate(sspr_answers=answers), policy)

    def count_condition(self, policy) -> Q:
        return Q(sspr_answers__gte=self.option(policy, "reset_count"))

    @property
    def many_fields(self) -> list[str]:
        return [self.flag_name, "sspr_answers"]

    def masked_many(self, values: dict) -> str:
        count = values["sspr_answers"]
        if not count:
            return ""
        return translation.ngettext("%(count)d question", "%(count)d questions", count) % {
            "count": count
        }

    def export_value(self, values: dict):
        return values["sspr_answers"]
