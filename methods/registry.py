"""The recovery methods in use, in the order people see them. Pages, the reset portal, the
helpdesk and the admin iterate over REGISTRY; nothing outside a method's own module names it.

A new method is a module with a Method subclass (methods/base.py) and one line below.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Least

from .authenticator.method import AuthenticatorAppMethod
from .base import Method, MethodState, MethodStatus
from .code import CodeMethod
from .email import AuthenticationEmailMethod
from .office import OfficePhoneMethod
from .passkey.method import PasskeyMethod
from .phone import AuthenticationPhoneMethod
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

    def __getitem__(self, key: str):
        return self.records[key]

    @classmethod
    def load(cls, user) -> UserMethods:
        return cls.load_or_none(user.pk)

    @classmethod
    def load_or_none(cls, user_id: int) -> UserMethods:
        """Like load(), by id, with the same query whether or not the user exists."""
        row = _methods_query().filter(pk=user_id).first()
        return cls(row, {key: method.from_row(row) for key, method in REGISTRY.items()})


@functools.cache
def _methods_query() -> QuerySet:
    """The query that loads people's methods, each method adding its part; built once per
    process (never run itself: each use filters a copy of it)."""
    queryset = get_user_model().objects.all()
    for method in REGISTRY.values():
        queryset = method.load_one(queryset)
    return queryset


def statuses(methods: UserMethods, policy) -> list[MethodStatus]:
    return [method.status(methods, policy) for method in enabled_methods(policy)]


def annotate_methods(queryset: QuerySet, policy) -> QuerySet:
    """Each method's flag and helpdesk values for every user of `queryset`, and the reset
    rule's inputs: `sspr_other_methods` (methods other than knowledge ones that count),
    `sspr_knowledge` (0 or 1) and `sspr_privileged_alone` (0 or 1)."""
    for method in REGISTRY.values():
        queryset = method.annotate_many(queryset, policy)
    zero = Value(0)

    def total(methods):
        names = [F(method.flag_name) for method in methods]
        result = names[0] if names else zero
        for name in names[1:]:
            result = result + name
        return result

    others = [m for m in REGISTRY.values() if not m.knowledge]
    knowledge = [m for m in REGISTRY.values() if m.knowledge]
    alone = [m for m in REGISTRY.values() if m.privileged_alone(policy)]
    return queryset.annotate(
        sspr_other_methods=total(others),
        sspr_knowledge=Least(total(knowledge), Value(1)),
        sspr_privileged_alone=Least(total(alone), Value(1)),
    )
