"""The state of one reset attempt. It lives in the server-side session only; the browser holds
nothing but the session cookie. It expires after 15 minutes."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from django.http import HttpRequest

SESSION_KEY = "sspr_reset"
LIFETIME_SECONDS = 15 * 60


class Action:
    RESET = "reset"
    UNLOCK = "unlock"


@dataclass
class ResetState:
    attempt: str  # random id, correlates the audit events of one attempt
    user_id: int | None  # None for an unknown or unusable account: the pages look the same
    username: str
    started_at: float
    action: str = ""
    passed: list[str] = field(default_factory=list)  # method kinds passed, in order
    questions: list[int] = field(default_factory=list)  # question ids asked
    code_method: str = ""  # the method a code was (or seemed to be) sent for

    @property
    def expired(self) -> bool:
        return time.time() - self.started_at > LIFETIME_SECONDS

    def save(self, request: HttpRequest) -> None:
        request.session[SESSION_KEY] = asdict(self)


def load(request: HttpRequest) -> ResetState | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        state = ResetState(**data)
    except TypeError:
        return None
    return None if state.expired else state


def clear(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
