"""Passkeys and security keys (WebAuthn): proof by a key that only works on this site, so a
look-alike site cannot collect it. Registered from /ssprsetup/passkey/ (several, each named),
used at /passwordreset/passkey/; user verification (a PIN or a fingerprint) is always required.
The policy may let a passkey alone satisfy an administrator account."""

from __future__ import annotations

from django import forms
from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from methods.base import Method, MethodState, MethodStatus

from .models import Passkey


def _count(user):
    return Subquery(
        Passkey.objects.filter(user=user)
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")[:1],
        output_field=IntegerField(),
    )


def describe(count: int) -> str:
    return translation.ngettext("%(count)d passkey", "%(count)d passkeys", count) % {"count": count}


class PasskeyMethod(Method):
    kind = "passkey"
    slug = "passkey"
    key = "passkey"
    # Another key beside the person's: its "That wasn't me" link removes none (methods/base.py).
    undo_removes_only_the_change = False
    label = _("Passkey or security key")
    summary = _(
        "A passkey on your phone or computer, or a security key you plug in or tap. It only "
        "works on this site, so a fake site cannot steal it. Needs JavaScript."
    )
    phishing_resistant = True
    proof_strength = 50
    enabled_by_default = True
    option_fields = {
        "privileged_alone": forms.BooleanField(
            label=_("a passkey alone is enough for administrator accounts"),
            required=False,
            initial=False,
            help_text=_(
                "Administrator accounts otherwise need two methods other than security "
                "questions. A passkey cannot be phished, so it may stand alone for them."
            ),
        ),
    }
    setup_urlconf = "methods.passkey.setup_urls"
    reset_urlconf = "methods.passkey.reset_urls"

    def privileged_alone(self, policy) -> bool:
        return self.is_enabled(policy) and bool(self.option(policy, "privileged_alone"))

    def load_one(self, queryset: QuerySet) -> QuerySet:
        return queryset.annotate(
            sspr_one_passkeys=Coalesce(_count(OuterRef("pk")), 0),
            sspr_one_passkeys_at=Subquery(
                Passkey.objects.filter(user=OuterRef("pk"))
                .order_by()
                .values("user")
                .annotate(at=Max("created_at"))
                .values("at")[:1]
            ),
        )

    def from_row(self, row):
        if row is None:
            return (0, None)
        return (row.sspr_one_passkeys, row.sspr_one_passkeys_at)

    def status(self, methods, policy) -> MethodStatus:
        count, since = methods[self.key]
        if not count:
            return MethodStatus(self, MethodState.NOT_SET)
        text = describe(count)
        return MethodStatus(
            self, MethodState.VERIFIED, value=text, masked=text, updated_at=since, count=count
        )

    def remove(self, user) -> tuple[bool, list[str]]:
        return bool(Passkey.objects.filter(user=user).delete()[0]), []

    def count_condition(self, policy) -> Q:
        return Q(Exists(Passkey.objects.filter(user=OuterRef("pk"))))

    def annotate_many(self, queryset: QuerySet, policy) -> QuerySet:
        queryset = super().annotate_many(queryset, policy)
        return queryset.annotate(sspr_passkey_count=Coalesce(_count(OuterRef("pk")), 0))

    @property
    def many_fields(self) -> list[str]:
        return [self.flag_name, "sspr_passkey_count"]

    def masked_many(self, values: dict) -> str:
        return describe(values["sspr_passkey_count"]) if values["sspr_passkey_count"] else ""

    def export_value(self, values: dict):
        return values["sspr_passkey_count"]
