"""What the reset portal offers the methods' own reset pages (methods/pages.py reaches this
module by its path, SSPR_METHOD_RESET_HOST): the page decorator, the offered-method lookup,
the one refusal sentence, the masked hint a page may show, and the steps a method's proof goes
through."""

from __future__ import annotations

from .flows import (
    counts_for_user,
    digest,
    method_failed,
    method_passed,
    reset_check_code,
    reset_code_delivery,
    reset_code_more_time,
    reset_prove,
    reset_send_code,
    state_user,
)
from .state import code_by_call
from .views import NOT_VERIFIED, after_pass, offered_method, reset_page, shown_hint

__all__ = [
    "after_pass",
    "code_by_call",
    "counts_for_user",
    "NOT_VERIFIED",
    "digest",
    "method_failed",
    "method_passed",
    "offered_method",
    "reset_check_code",
    "reset_code_delivery",
    "reset_code_more_time",
    "reset_page",
    "reset_prove",
    "reset_send_code",
    "shown_hint",
    "state_user",
]
