"""Security questions at /passwordreset: which questions to ask, and checking the answers.

No enumeration (docs/security.md §12-13): a registered person gets a stable draw from their own
questions, keyed by their answers; any other account gets a stable draw from a keyed hash of
the name typed; and every answer is checked against a stored hash or a stand-in, so the two
cannot be told apart.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from functools import lru_cache

from django.contrib.auth.hashers import make_password
from django.http import HttpRequest

from methods.models import SecurityAnswer, SecurityQuestion
from methods.pages import reset_flow
from sspr_site import counting

from .answers import answer_matches


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    # Checked against when there is no stored answer, so the work is the same.
    return make_password(secrets.token_hex(16), hasher="argon2")


def _stable_draw(key: str, pool: list[int], count: int) -> list[int]:
    """`count` of `pool`, drawn by a keyed hash of `key`: the same every time for the same key
    and pool, and telling nothing about either."""
    seed = int(hashlib.sha256(reset_flow("digest")(key).encode()).hexdigest(), 16)
    return random.Random(seed).sample(sorted(pool), min(count, len(pool)))  # noqa: S311


def reset_questions(*, request: HttpRequest, state, method, policy) -> list:
    """The questions to ask: the same draw at every attempt, for every kind of name.

    A registered user gets a draw from their own questions, keyed by their answers (new answers,
    a new draw); any other account gets a draw from every approved question, keyed by the name
    typed. Both stay as they are from one attempt to the next, so how often the questions
    change cannot tell the two apart (a random draw kept in the cache changed for a real
    account whenever the cache let it go), and whoever tries again meets the same questions.
    """
    count = method.option(policy, "reset_count")
    user = reset_flow("state_user")(state)
    if not state.questions:
        # Only questions still approved: a retired question is never asked, of anyone, so
        # seeing one cannot tell a real account from an unknown name.
        answered = dict(
            SecurityAnswer.objects.filter(
                user=user.pk if user else 0, question__active=True
            ).values_list("question_id", "pk")
        )
        if len(answered) >= count:
            rows = ",".join(str(pk) for pk in sorted(answered.values()))
            state.questions = _stable_draw(f"questions:{user.pk}:{rows}", list(answered), count)
        else:
            pool = list(SecurityQuestion.objects.filter(active=True).values_list("pk", flat=True))
            # The name exactly as typed, as the account lookup does: "rita" and "RITA" get
            # different questions whether or not either exists.
            state.questions = _stable_draw("questions:" + state.username, pool, count)
        state.save(request)
    by_id = SecurityQuestion.objects.in_bulk(state.questions)
    return [by_id[pk] for pk in state.questions if pk in by_id]


# Wrong sets of answers for one name in a day, from every attempt together: past them, no set
# of answers for that name is checked until a day after the oldest (docs/security.md §14).
WRONG_ANSWERS_PER_DAY = 10
DAY = 24 * 3600


def reset_check_answers(*, request: HttpRequest, state, method, answers: dict[int, str]) -> bool:
    """Check all answers together, under the portal's tries for a method (TRIES_PER_METHOD
    an attempt, as for a code from an app) and a day's count of wrong sets for the name typed,
    across attempts (WRONG_ANSWERS_PER_DAY): five tries an attempt and five attempts an hour
    would otherwise let someone who knows the name try 600 sets a day, for ever. Counted for
    every name alike; the caller says only that they did not all match."""
    user = reset_flow("state_user")(state)
    failures_key = "sspr:reset:wrong-answers:" + reset_flow("digest")(state.username)
    spent = counting.recent(failures_key, DAY) >= WRONG_ANSWERS_PER_DAY

    def check(user_id: int | None) -> bool:
        if spent:
            return False  # not looked at: the day's wrong sets for this name are used up
        stored = dict(
            SecurityAnswer.objects.filter(
                user=user_id or 0, question_id__in=state.questions
            ).values_list("question_id", "answer_hash")
        )
        results = [
            answer_matches(answers.get(pk, ""), stored.get(pk) or dummy_hash())
            for pk in state.questions  # every answer is checked: no early return
        ]
        matched = bool(results) and all(results) and len(stored) == len(state.questions)
        return matched and user is not None and reset_flow("counts_for_user")(user, method)

    passed = reset_flow("reset_prove")(
        request=request, state=state, method=method, check=check, reason="wrong_answers"
    )
    if not passed:
        counting.count_recent(failures_key, DAY, cap=WRONG_ANSWERS_PER_DAY)
    return passed
