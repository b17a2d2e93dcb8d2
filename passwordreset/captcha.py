"""The proof-of-work check on the first step (ALTCHA): no third party, no puzzle to look at.

The browser's widget fetches a signed challenge, finds the counter that solves it, and posts
the solution with the form. Each solved challenge is accepted once.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import altcha
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from .conf import app_settings

ALGORITHM = "SHA-256"
VALID_SECONDS = 10 * 60


def _secret() -> str:
    return salted_hmac("passwordreset.captcha", "altcha", algorithm="sha256").hexdigest()


def new_challenge() -> dict:
    """A signed challenge whose answer is a random counter below SSPR_CAPTCHA_DIFFICULTY."""
    difficulty = app_settings.CAPTCHA_DIFFICULTY
    challenge = altcha.create_challenge(
        ALGORITHM,
        1,
        counter=secrets.randbelow(difficulty),
        expires_at=int(time.time()) + VALID_SECONDS,
        hmac_secret=_secret(),
    )
    return challenge.to_dict()


def solved(payload: str) -> str:
    """The solved challenge's own name (a digest of its signature), or "" for a missing, forged
    or expired solution. The challenge itself is named, not the bytes that carried its
    solution: the same solution re-encoded (other spacing, key order, padding) is the same."""
    if not payload or len(payload) > 4000:
        return ""
    try:
        parsed = altcha.Payload.from_base64(payload)
        result = altcha.verify_solution(parsed, _secret())
    except Exception:  # malformed payloads raise many kinds of errors
        return ""
    if not getattr(result, "verified", False):
        return ""
    return hashlib.sha256(str(parsed.challenge.signature).encode()).hexdigest()


# What an attempt started without the proof-of-work keeps as its check (a browser without
# JavaScript: passwordreset.flows.start_without_script). It is no solved challenge's name.
WITHOUT_SCRIPT = "without-script"


def spend(name: str) -> bool:
    """Accept the solved challenge `name` (from `solved`) once; refuse "" or a replayed one."""
    # cache.add is atomic: of two submissions of one challenge, only the first is accepted.
    return bool(name) and cache.add("sspr:captcha:" + name, 1, timeout=VALID_SECONDS + 60)


def solve(challenge: dict) -> str:
    """Solve a challenge as the widget would (for tests and benchmarks)."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed)
    return altcha.Payload(parsed, solution).to_base64()
