"""The security questions' action that spans records: set a person's whole set of answers.
What follows (audit event, new session key, notice, completion) is methods/lifecycle.py's."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.http import HttpRequest

from methods import lifecycle
from methods.base import Method

from .answers import hash_answer
from .models import SecurityAnswer, SecurityQuestion


def questions_set(
    *,
    request: HttpRequest,
    user,
    answers: Sequence[tuple[SecurityQuestion, str]],
    policy,
    method: Method,
    message: str = "",
) -> None:
    """Replace the user's whole set of security answers. `answers` are already normalised."""
    # Hash before the transaction: Argon2 is deliberately slow and needs no lock.
    hashed = [
        SecurityAnswer(user=user, question=question, answer_hash=hash_answer(answer))
        for question, answer in answers
    ]
    with transaction.atomic():
        # One set at a time per person: two saves at once (two tabs, a double click) would
        # otherwise each delete what was there, then each insert, mixing the two sets or
        # failing on the second's insert (the row lock; SQLite writes one at a time).
        lifecycle.lock_person(user.pk)
        replaced = SecurityAnswer.objects.filter(user=user).delete()[0] > 0
        SecurityAnswer.objects.bulk_create(hashed)
    lifecycle.added(
        request=request,
        method=method,
        policy=policy,
        replaced=replaced,
        message=message,
        count=len(hashed),
    )
