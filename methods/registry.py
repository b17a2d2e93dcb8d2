"""The recovery methods in use, in the order people see them. Pages, the reset portal, the
helpdesk and the admin iterate over REGISTRY; nothing outside a method's own module names it.

A new method is a module with a Method subclass (methods/base.py) and one line below.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.db.models.functions import Least

from sspr_site.compiled_query import OneRow, read_with

from . import cooling, not_me
from .authenticator.method import AuthenticatorAppMethod
from .base import Method, MethodState, MethodStatus
from .code.email import AuthenticationEmailMethod
from .code.method import CodeMethod
from .code.office import OfficePhoneMethod
from .code.phone import AuthenticationPhoneMethod
from .passkey.method import PasskeyMethod
from .questions.method import SecurityQuestionsMethod
from .recovery_codes.method import RecoveryCodesMethod

__all__ = ["REGISTRY", "CodeMethod", "Method", "MethodState", "MethodStatus", "UserMethods"]

REGISTRY: dict[str, Method] = {
    method.key: method
    for method in (
        AuthenticationPhoneMethod(),
        AuthenticationEmailMethod(),
        AuthenticatorAppMethod(),
        PasskeyMethod(),
        SecurityQuestionsMethod(),
        OfficePhoneMethod(),
        RecoveryCodesMethod(),
    )
}


def by_slug(slug: str) -> Method | None:
    return next((method for method in REGISTRY.values() if method.slug == slug), None)


def method_for_kind(kind: str) -> Method:
    return next(method for method in REGISTRY.values() if method.kind == kind)


def enabled_methods(policy) -> list[Method]:
    return [method for method in REGISTRY.values() if method.is_enabled(policy)]


@dataclass(frozen=True)
class UserMethods:
    """Everything one person registered, loaded in one query: each method adds to it."""

    user: Any
    records: dict[str, Any]
    # (policy, its statuses): statuses() works them out once for each policy it is asked with
    # (a change's page, then the completion check and the proof after it, ask for the same).
    kept: list = field(default_factory=list, compare=False, repr=False)

    def __getitem__(self, key: str):
        return self.records[key]

    @property
    def cooling(self) -> dict:
        """The methods cooling off now, by kind, with when each stops (methods/cooling.py)."""
        if self.user is None:
            return {}
        return {str(method.kind): until for method, until in cooling_of_row(self.user)}

    @property
    def paused(self) -> bool:
        """Self-service is paused for the person (methods/not_me.py)."""
        return bool(self.user is not None and self.user.sspr_paused)

    @classmethod
    def load(cls, user) -> UserMethods:
        return cls.load_or_none(user.pk)

    @classmethod
    def of_signed_in(cls, user) -> UserMethods:
        """Like load(), for the signed-in person: no query again when they were read with their
        methods at the start of the request (read_person_with(PERSON_WITH_METHODS))."""
        if read_with(user) is PERSON_WITH_METHODS:
            return cls.from_row(user)
        return cls.load(user)

    @classmethod
    def load_or_none(cls, user_id: int) -> UserMethods:
        """Like load(), by id, with the same query whether or not the user exists."""
        return cls.from_row(_ONE_PERSON.get(user_id))  # None matches no one, in the same query

    @classmethod
    def load_many(cls, ids) -> list[UserMethods]:
        """Like load(), for several people at once, in one query, in the order of their ids."""
        return [cls.from_row(row) for row in _with_apps_rows().filter(pk__in=ids).order_by("pk")]

    @classmethod
    def from_row(cls, row) -> UserMethods:
        return cls(row, {key: method.from_row(row) for key, method in REGISTRY.items()})


@functools.cache
def _methods_query() -> QuerySet:
    """The query that loads people's methods, each method adding its part; built once per
    process (never run itself: each use filters a copy of it)."""
    queryset = get_user_model().objects.all()
    for method in REGISTRY.values():
        queryset = method.load_one(queryset)
    # In the same query: when each method stops cooling off, and whether self-service is
    # paused (methods/cooling.py, methods/not_me.py). The database's clock, as the query is
    # built once.
    return queryset.annotate(
        **cooling_annotations(),
        **not_me.paused_annotation(),
    )


def _with_apps_rows() -> QuerySet:
    """_methods_query, joined with the rows other apps read beside a person's methods: an
    app's config may name relations of the user in `with_methods` (registration: the
    person's registration, which the overview and the completion check read with them)."""
    from django.apps import apps

    related = [
        name for config in apps.get_app_configs() for name in getattr(config, "with_methods", ())
    ]
    return _methods_query().select_related(*related)


# The same query for one person, turned into SQL once per database connection, and on
# PostgreSQL planned once per connection (sspr_site/compiled_query.py): most pages of
# /ssprsetup load it, some several times.
_ONE_PERSON = OneRow(_with_apps_rows)
# The signed-in person can be read with it (sspr_site.compiled_query.read_person_with): it reads
# all the user query reads, whether self-service is paused too.
PERSON_WITH_METHODS = _ONE_PERSON


def cooling_annotations() -> dict:
    """For a query of people: when each method stops cooling off (methods/cooling.py)."""
    return {
        f"sspr_cools_{key}": cooling.cools_until_sql(str(method.kind))
        for key, method in REGISTRY.items()
    }


def cooling_of_row(row) -> list[tuple[Method, Any]]:
    """(method, until) for each method cooling off, from a row with cooling_annotations()."""
    return [
        (method, until)
        for key, method in REGISTRY.items()
        if (until := getattr(row, f"sspr_cools_{key}", None)) is not None
    ]


def statuses(methods: UserMethods, policy) -> list[MethodStatus]:
    """Each enabled method's status, worked out once for these methods and this policy."""
    for asked, kept in methods.kept:
        if asked is policy:
            return list(kept)
    found = [method.status(methods, policy) for method in enabled_methods(policy)]
    methods.kept.append((policy, found))
    return list(found)


def annotate_methods(queryset: QuerySet, policy) -> QuerySet:
    """Each method's flag and helpdesk values for every user of `queryset`, and the reset
    rule's inputs (methods/reset_rule.py), of the methods that count for each person (an
    administrator account counts only those with `counts_for_privileged`):
    `sspr_other_methods` (those that count on their own), `sspr_knowledge` (0 or 1: one that
    counts only beside another), `sspr_privileged_alone` (0 or 1) and `sspr_fresh` (0 or 1:
    methods/cooling.py)."""
    for method in REGISTRY.values():
        queryset = method.annotate_many(queryset, policy)
    zero = Value(0)

    def total(methods):
        names = [F(method.flag_name) for method in methods]
        result = names[0] if names else zero
        for name in names[1:]:
            result = result + name
        return result

    def counted(methods):
        """The sum for ordinary accounts, and of the methods that count for administrators
        for theirs."""
        privileged = [method for method in methods if method.counts_for_privileged]
        if len(privileged) == len(methods):
            return total(methods)
        return Case(
            When(is_staff=True, then=total(privileged)),
            default=total(methods),
            output_field=IntegerField(),
        )

    alone_ones = [m for m in REGISTRY.values() if m.counts_alone]
    beside_ones = [m for m in REGISTRY.values() if not m.counts_alone]
    privileged_alone = [m for m in REGISTRY.values() if m.privileged_alone(policy)]
    return queryset.annotate(
        sspr_other_methods=counted(alone_ones),
        sspr_knowledge=Least(counted(beside_ones), Value(1)),
        sspr_privileged_alone=Least(total(privileged_alone), Value(1)),
        sspr_fresh=cooling.fresh_sql(list(REGISTRY.values())),
    )
