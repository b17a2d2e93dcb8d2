"""What the helpdesk sees of users: registration state and methods, masked, in constant queries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import CharField, ExpressionWrapper, F, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from methods.masking import mask_email, mask_phone
from methods.reset_rule import Proof, ResetRule
from registration.models import Policy
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

METHOD_FILTERS = {
    "phone": (gettext_lazy("Authentication phone"), Q(sspr_phone=1)),
    "email": (gettext_lazy("Authentication email"), Q(sspr_email=1)),
    "office": (gettext_lazy("Office phone"), Q(sspr_office=1)),
    "questions": (gettext_lazy("Security questions"), Q(sspr_questions=1)),
}


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
    users = with_methods(with_state(users, policy), policy).select_related(
        "sspr_registration", "authentication_phone", "authentication_email", "office_phone"
    )
    if query:
        users = users.filter(
            Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(email__icontains=query)
        )
    if state in RegistrationState.labels:
        users = users.filter(sspr_state=state)
    if method in METHOD_FILTERS:
        users = users.filter(METHOD_FILTERS[method][1])
    if can_reset in ("yes", "no"):
        users = users.filter(sspr_can_reset=can_reset == "yes")
    return users.order_by(SORTS.get(sort, "username"), "pk")


def _related(user, name: str):
    try:
        return getattr(user, name)
    except ObjectDoesNotExist:
        return None


@dataclass(frozen=True)
class Row:
    """One user as the helpdesk may see them: contact details masked."""

    pk: int
    username: str
    name: str
    state: str
    state_label: str
    can_reset: bool
    phone: str
    email: str
    office: str
    questions: int
    other_methods: int
    questions_count: bool
    is_staff: bool
    completed_at: datetime | None
    confirmed_at: datetime | None

    @classmethod
    def of(cls, user) -> Row:
        phone = _related(user, "authentication_phone")
        email = _related(user, "authentication_email")
        office = _related(user, "office_phone")
        registration = _related(user, "sspr_registration")
        return cls(
            pk=user.pk,
            username=user.get_username(),
            name=user.get_full_name(),
            state=user.sspr_state,
            state_label=str(RegistrationState.labels[user.sspr_state]),
            can_reset=user.sspr_can_reset,
            phone=mask_phone(phone.number) if phone and phone.verified_at else "",
            email=mask_email(email.email) if email and email.verified_at else "",
            office=office.number.as_international if office else "",
            questions=user.sspr_answers,
            other_methods=user.sspr_other_methods,
            questions_count=bool(user.sspr_questions),
            is_staff=user.is_staff,
            completed_at=registration.completed_at if registration else None,
            confirmed_at=registration.last_confirmed_at if registration else None,
        )

    def why(self, policy: Policy) -> str:
        """Why the user can or cannot reset, in a sentence (methods.reset_rule)."""
        rule = ResetRule.of(policy)
        proof = Proof(self.other_methods, self.questions_count, self.is_staff)
        needed = rule.needed(self.is_staff)
        if self.is_staff:
            return _(
                "%(count)d of 2 required methods verified (administrator accounts need two, "
                "not counting security questions)."
            ) % {"count": min(rule.counted(proof), needed)}
        text = _("%(count)d of %(required)d required methods verified.") % {
            "count": min(rule.counted(proof), needed),
            "required": needed,
        }
        if rule.questions_alone_refused(proof):
            text += " " + _("Security questions alone are not enough.")
        return text


EXPORT_HEADER = [
    "username",
    "name",
    "state",
    "can_reset",
    "authentication_phone",
    "authentication_email",
    "office_phone",
    "security_questions",
    "completed_at",
    "last_confirmed_at",
]


def _text(name: str) -> ExpressionWrapper:
    # The stored text as it is: no phone number object built for every row.
    return ExpressionWrapper(F(name), output_field=CharField())


def export_rows(users: QuerySet) -> Iterator[list]:
    """The export's rows, the values a Row shows, read as plain values: no model object per
    user (the export reads every user in scope). The office phone is given in E.164, the form
    other tools read (formatting it for people was most of the export's time)."""
    values = users.annotate(
        x_phone=_text("authentication_phone__number"),
        x_office=_text("office_phone__number"),
    ).values_list(
        "username",
        "first_name",
        "last_name",
        "sspr_state",
        "sspr_can_reset",
        "x_phone",
        "authentication_phone__verified_at",
        "authentication_email__email",
        "authentication_email__verified_at",
        "x_office",
        "sspr_answers",
        "sspr_registration__completed_at",
        "sspr_registration__last_confirmed_at",
    )
    for (
        username,
        first,
        last,
        state,
        can_reset,
        phone,
        phone_verified,
        email,
        email_verified,
        office,
        answers,
        completed,
        confirmed,
    ) in values.iterator(chunk_size=5000):
        yield [
            username,
            f"{first} {last}".strip(),
            state,
            "yes" if can_reset else "no",
            mask_phone(phone) if phone and phone_verified else "",
            mask_email(email) if email and email_verified else "",
            office or "",  # E.164: the directory number, as a machine reads it
            answers,
            completed.isoformat() if completed else "",
            confirmed.isoformat() if confirmed else "",
        ]
