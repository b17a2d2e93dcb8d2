"""What one request has read already, so that it reads each thing once, not at every use: the
policy (policy.models.Policy.load), the banned words (passwords.validators.banned_words), the
person's stored language (registration.language).
policy.middleware.PolicyPerRequestMiddleware gives each request its own; outside a request
(a command, the worker) nothing is kept and every use reads."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

request_memo: ContextVar[dict | None] = ContextVar("ssprrequest_memo", default=None)


def once_per_request(key: str, read: Callable[[], Any]) -> Any:
    """`read()`, or what it gave earlier in this request."""
    memo = request_memo.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


def forget(key: str) -> None:
    """The rest of this request reads `key` again (it was just changed)."""
    memo = request_memo.get()
    if memo is not None:
        memo.pop(key, None)


def known(key: str) -> bool:
    """Whether this request has read `key` already."""
    memo = request_memo.get()
    return memo is not None and key in memo
