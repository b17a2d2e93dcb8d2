"""The reset rule is stated once (methods.reset_rule); its Python and SQL forms, the portal, the
helpdesk's column and sentence, and the admin's column all give the same answer — checked here
for every combination of methods, privilege and policy."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import replace

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone, translation

from helpdesk.status import Row, directory
from methods.models import (
    AuthenticationEmail,
    AuthenticationPhone,
    MethodChange,
    MethodKind,
    OfficePhone,
    SecurityAnswer,
    SecurityQuestion,
)
from methods.registry import REGISTRY
from methods.reset_rule import Proof, ResetRule, proof_of
from passwordreset.flows import identity_proven
from passwordreset.state import ResetState
from policy.models import Policy

pytestmark = pytest.mark.django_db

FLAGS = list(itertools.product([False, True], repeat=5))  # staff, phone, email, office, questions


def held(phone, email, office, answers) -> list:
    """The methods a person of the fixture holds, as the rule reads them (methods/base.py)."""
    has = {"phone": phone, "email": email, "office": office, "questions": answers}
    return [REGISTRY[key] for key, holds in has.items() if holds]


@pytest.fixture
def everyone(approved_questions):
    """One user for each combination of privilege and registered methods."""
    now = timezone.now()
    questions = list(SecurityQuestion.objects.filter(active=True)[:3])
    people = {}
    for staff, phone, email, office, answers in FLAGS:
        name = "u" + "".join(
            "1" if flag else "0" for flag in (staff, phone, email, office, answers)
        )
        user = get_user_model().objects.create_user(name, is_staff=staff)
        if phone:
            AuthenticationPhone.objects.create(user=user, number="+447400123456", verified_at=now)
        if email:
            AuthenticationEmail.objects.create(
                user=user, email=f"{name}@example.net", verified_at=now
            )
        if office:
            OfficePhone.objects.create(user=user, number="+442071838750")
        if answers:
            for question in questions:
                SecurityAnswer.objects.create(user=user, question=question, answer_hash="x")
        people[name] = (user, staff, phone, email, office, answers)
    return people


@pytest.mark.parametrize(("required", "alone"), list(itertools.product([1, 2, 3], [False, True])))
def test_every_form_of_the_rule_agrees(everyone, required, alone):
    translation.activate("en")  # the helpdesk's sentence is compared in English
    policy = Policy.load()
    policy.reset_methods_required = required
    policy.questions_alone_allowed = alone
    policy.set_option("office", "enabled", True)
    policy.save()
    rule = ResetRule.of(policy)
    rows = {user.username: user for user in directory(policy)}  # one query, in SQL
    assert len(rows) == len(everyone)
    # SQL: the helpdesk's and the admin's filter (the pages' columns use `allows` on the row).
    sql_yes = set(directory(policy).filter(sspr_can_reset=True).values_list("username", flat=True))
    sql_no = set(directory(policy).filter(sspr_can_reset=False).values_list("username", flat=True))
    for name, (user, staff, phone, email, office, answers) in everyone.items():
        others = phone + email + office
        proof = proof_of(held(phone, email, office, answers), privileged=staff, policy=policy)
        expected = rule.allows(proof)
        # The rule as written in its docstring, independently.
        if staff:
            assert expected == (others >= 2), name
        else:
            assert expected == ((others + answers) >= required and (others >= 1 or alone)), name
        assert (name in sql_yes, name in sql_no) == (expected, not expected), name
        # The portal, with every registered method passed.
        kinds = [
            kind.value
            for kind, has in (
                (MethodKind.AUTHENTICATION_PHONE, phone),
                (MethodKind.AUTHENTICATION_EMAIL, email),
                (MethodKind.OFFICE_PHONE, office),
                (MethodKind.SECURITY_QUESTIONS, answers),
            )
            if has
        ]
        state = ResetState(attempt="a", user_id=user.pk, username=name, started_at=0, passed=kinds)
        assert identity_proven(state, user, policy) == expected, name
        # The helpdesk's sentence counts toward the same number.
        row = Row.of(rows[name], rule)
        assert row.can_reset == expected
        counted, needed = rule.counted(proof), rule.needed(staff)
        if staff:
            assert f"{min(counted, needed)} of {needed} required" in row.why(policy), name
        elif counted < needed:
            assert f"{counted} of the {needed} method" in row.why(policy), name
        else:
            assert f"The {needed} method" in row.why(policy), name
        assert ("alone are not enough" in row.why(policy)) == (
            answers and others == 0 and not staff and not alone
        ), name


@pytest.mark.parametrize("required", [1, 2])
def test_every_form_agrees_while_the_phone_cools_off(everyone, required):
    """With every phone new and cooling off (methods/cooling.py): counted only beside an older
    method other than security questions, the same in Python, in SQL (lists, filters) and at
    the portal."""
    policy = Policy.load()
    policy.reset_methods_required = required
    policy.set_option("office", "enabled", True)
    policy.save()
    until = timezone.now() + datetime.timedelta(hours=1)
    for user, _staff, phone, *_rest in everyone.values():
        if phone:
            MethodChange.objects.create(
                user=user, method="authentication_phone", action="added", cooling_until=until
            )
    rule = ResetRule.of(policy)
    rows = {user.username: user for user in directory(policy)}
    sql_yes = set(directory(policy).filter(sspr_can_reset=True).values_list("username", flat=True))
    for name, (user, staff, phone, email, office, answers) in everyone.items():
        older = email or office  # older answers do not make a new phone count
        fresh = not phone or older
        proof = proof_of(held(phone, email, office, answers), privileged=staff, policy=policy)
        expected = rule.allows(replace(proof, fresh=fresh))
        assert expected == (rule.allows(proof) and fresh), name
        assert (name in sql_yes) == expected, name
        assert Row.of(rows[name], rule).can_reset == expected, name
        kinds = [
            kind.value
            for kind, has in (
                (MethodKind.AUTHENTICATION_PHONE, phone),
                (MethodKind.AUTHENTICATION_EMAIL, email),
                (MethodKind.OFFICE_PHONE, office),
                (MethodKind.SECURITY_QUESTIONS, answers and not staff),
            )
            if has
        ]
        state = ResetState(attempt="a", user_id=user.pk, username=name, started_at=0, passed=kinds)
        assert identity_proven(state, user, policy) == expected, name


@pytest.mark.parametrize(
    ("required", "alone", "at_least"), list(itertools.product([1, 2], [False, True], [0, 1, 2]))
)
def test_what_the_pages_say_is_missing_is_what_the_rule_needs(required, alone, at_least):
    """`short_of` (how many more methods the registration pages ask for) and `helps` (what the
    portal still offers once a method passed) agree with `allows`, for both kinds of account:
    adding that many methods is enough, one fewer is not."""
    rule = ResetRule(required, alone)
    for privileged, others, questions, passkey in itertools.product(
        [False, True], range(3), [False, True], [False, True]
    ):
        proof = Proof(others, questions, privileged, alone=passkey)

        def enough(more, proof=proof, privileged=privileged):
            grown = Proof(proof.others + more, proof.questions, privileged, proof.alone)
            return rule.allows(grown) and rule.counted(grown) >= at_least

        short = rule.short_of(proof, at_least)
        assert enough(short), proof
        assert short == 0 or not enough(short - 1), proof
        # Security questions: never for an administrator account; beside another method for
        # anyone else, unless the policy lets them stand alone.
        questions_method, phone = REGISTRY["questions"], REGISTRY["phone"]
        counts = rule.would_count(Proof(others, False, privileged), questions_method)
        assert counts == (not privileged and (others >= 1 or alone)), proof
        if not rule.allows(proof):
            assert rule.helps(proof, phone)
            assert rule.helps(proof, questions_method) == (
                not questions and counts and not privileged
            ), proof


class Declared:
    """A method as the rule sees it: what it says of how it counts (methods/base.py)."""

    def __init__(self, alone=True, for_privileged=True, privileged_alone=False):
        self.counts_alone = alone
        self.counts_for_privileged = for_privileged
        self._privileged_alone = privileged_alone

    def privileged_alone(self, policy):
        return self._privileged_alone


def test_each_method_states_how_it_counts():
    """Counting is stated per method, not by kind: a method that counts on its own for
    everyone but not for an administrator account (as an organisation might say of recovery
    codes) needs no change to the rule."""
    from methods.reset_rule import KnowledgeStanding, proof_of

    rule = ResetRule(1, False)
    phone, email = Declared(), Declared()
    codes = Declared(for_privileged=False)
    questions = Declared(alone=False, for_privileged=False)
    passkey = Declared(privileged_alone=True)

    def allows(*methods, privileged=False):
        return rule.allows(proof_of(methods, privileged=privileged, policy=None))

    assert allows(codes) and allows(phone) and not allows(questions)
    assert allows(questions, codes)
    assert not allows(phone, codes, privileged=True)  # codes do not count for it
    assert not allows(phone, questions, privileged=True)
    assert allows(phone, email, privileged=True) and allows(passkey, privileged=True)
    assert rule.standing(codes, privileged=True) is KnowledgeStanding.NEVER
    assert rule.standing(codes, privileged=False) is KnowledgeStanding.COUNTS
    assert rule.standing(questions, privileged=False) is KnowledgeStanding.WITH_ANOTHER
    held = proof_of([phone], privileged=True, policy=None)
    assert rule.helps(held, email) and not rule.helps(held, codes)
    assert not rule.would_count(held, questions)
