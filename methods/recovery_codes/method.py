"""One-time recovery codes: ten codes shown once at setup, each usable once at
/passwordreset, kept only as keyed hashes (codes.py). They count as one method; an
administrator account needs another method beside them unless the policy says so."""

from __future__ import annotations

from django import forms
from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from methods.base import Method, MethodState, MethodStatus

from .codes import WARN_AT
from .models import RecoveryCode


def _unused(user):
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True)


def _left(user):
    return Coalesce(
        Subquery(
            _unused(user).order_by().values("user").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def describe(count: int) -> str:
    """What the owner and the helpdesk see: how many are left, never the codes."""
    # Shown after the method's name ("Recovery codes: 9 left"), so it does not repeat it.
    return translation.ngettext("%(count)d left", "%(count)d left", count) % {"count": count}


class RecoveryCodesMethod(Method):
    kind = "recovery_codes"
    proof_strength = 30
    slug = "recovery-codes"
    key = "recovery_codes"
    label = _("Recovery codes")
    summary = _(
        "Ten codes to print or keep somewhere safe, each usable once. Useful when you have "
        "nothing else at hand; make a new set when few are left."
    )
    enabled_by_default = False
    option_fields = {
        "privileged_alone": forms.BooleanField(
            label=_("recovery codes alone are enough for administrator accounts"),
            required=False,
            initial=False,
            help_text=_(
                "Administrator accounts otherwise need another method beside them. A printed "
                "code can be stolen or copied, so this is off unless you decide otherwise."
            ),
        ),
    }
    setup_urlconf = "methods.recovery_codes.setup_urls"
    reset_urlconf = "methods.recovery_codes.reset_urls"

    def privileged_alone(self, policy) -> bool:
        return self.is_enabled(policy) and bool(self.option(policy, "privileged_alone"))

    # --- One person -----------------------------------------------------------------------

    def load_one(self, queryset: QuerySet) -> QuerySet:
        return queryset.annotate(
            sspr_one_recovery_left=_left(OuterRef("pk")),
            sspr_one_recovery_at=Subquery(
                RecoveryCode.objects.filter(user=OuterRef("pk"))
                .order_by()
                .values("user")
                .annotate(at=Max("created_at"))
                .values("at")[:1]
            ),
        )

    def from_row(self, row):
        if row is None:
            return (0, None)
        return (row.sspr_one_recovery_left, row.sspr_one_recovery_at)

    def status(self, methods, policy) -> MethodStatus:
        count, since = methods[self.key]
        if not count:
            # None made, or every one spent: they no longer count.
            return MethodStatus(self, MethodState.NOT_SET)
        text = describe(count)
        if count <= WARN_AT:
            text = str(_("%(left)s: make a new set soon")) % {"left": text}
        return MethodStatus(
            self, MethodState.VERIFIED, value=text, masked=text, updated_at=since, count=count
        )

    def remove(self, user) -> tuple[bool, list[str]]:
        return bool(RecoveryCode.objects.filter(user=user).delete()[0]), []

    # --- Many people ------------------------------------------------------------------------

    def count_condition(self, policy) -> Q:
        return Q(Exists(_unused(OuterRef("pk"))))

    def annotate_many(self, queryset: QuerySet, policy) -> QuerySet:
        queryset = super().annotate_many(queryset, policy)
        return queryset.annotate(sspr_recovery_codes_left=_left(OuterRef("pk")))

    @property
    def many_fields(self) -> list[str]:
        return [self.flag_name, "sspr_recovery_codes_left"]

    def masked_many(self, values: dict) -> str:
        count = values["sspr_recovery_codes_left"]
        return describe(count) if count else ""

    def export_value(self, values: dict):
        return values["sspr_recovery_codes_left"]
