"""Security questions at /passwordreset: which questions to ask, and checking the answers.

No enumeration (docs/security.md §12-13): a registered person gets a random draw from their own
questions; any other account gets a stable draw from a keyed hash of the name typed, and every
answer is checked against a stored hash or a stand-in, so the two cannot be told apart.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from functools import lru_cache

from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.http import HttpRequest

from methods.models import SecurityAnswer, SecurityQuestion
from methods.pages import reset_flow

from .answers import answer_matches

QUESTIONS_KEPT_SECONDS = 30 * 24 * 3600


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    # Checked against when there is no stored answer, so the work is the same.
    return make_password(secrets.token_hex(16), hasher="argon2")


def reset_questions(*, request: HttpRequest, state, method, policy) -> list:
    """The questions to ask, chosen once and kept until they are answered right.

    A registered user gets a random draw from their own questions; any other account gets a
    stable draw from a keyed hash of the username, so the two cannot be told apart.
    """
    count = method.option(policy, "reset_count")
    user = reset_flow("state_user")(state)
    if not state.questions:
        # Only questions still approved: a retired question is never asked, of anyone, so
        # seeing one cannot tell a real account from an unknown name.
        answered = list(
            SecurityAnswer.objects.filter(
                user=user.pk if user else 0, question__active=True
            ).values_list("question_id", flat=True)
        )
        if len(answered) >= count:
            kept_key = f"sspr:reset:questions:{user.pk}"
            kept = cache.get(kept_key)
            if not kept or not set(kept) <= set(answered) or len(kept) != count:
                kept = random.SystemRandom().sample(sorted(answered), count)
                cache.set(kept_key, kept, timeout=QUESTIONS_KEPT_SECONDS)
            state.questions = kept
        else:
            pool = sorted(SecurityQuestion.objects.filter(active=True).values_list("pk", flat=True))
            seed = int(
                hashlib.sha256(
                    # The name exactly as typed, as the account lookup does: "rita" and
                    # "RITA" get different questions whether or not either exists.
                    reset_flow("digest")("questions:" + state.username).encode()
                ).hexdigest(),
                16,
            )
            state.questions = random.Random(seed).sample(pool, min(count, len(pool)))  # noqa: S311
        state.save(request)
    by_id = SecurityQuestion.objects.in_bulk(state.questions)
    return [by_id[pk] for pk in state.questions if pk in by_id]


def reset_check_answers(*, request: HttpRequest, state, method, answers: dict[int, str]) -> bool:
    """Check all answers together, under the portal's tries for a method (TRIES_PER_METHOD
    an attempt, as for a code from an app); the caller says only that they did not all match."""
    user = reset_flow("state_user")(state)

    def check(user_id: int | None) -> bool:
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

    if not reset_flow("reset_prove")(
        request=request, state=state, method=method, check=check, reason="wrong_answers"
    ):
        return False
    cache.delete(f"sspr:reset:questions:{user.pk}")
    return True
