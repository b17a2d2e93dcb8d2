"""Actions on recovery methods that every method shares: remove a method. What follows a change
(audit event, new session key, notice, completion) is methods/lifecycle.py's.

A method's own actions live in its package (methods/code/flows.py, methods/questions/flows.py).
The portals and the helpdesk name no plug-in package (docs/architecture.md, "Layers"): the code
family's steps they call are reached here.
"""

from __future__ import annotations

from django.http import HttpRequest

from . import lifecycle
from .base import Method

# The code family's steps the portals and the helpdesk call; code_undelivered is also the
# dotted path that messages queued before methods/code/flows.py existed carry (delivery/jobs.py).
from .code.flows import (
    SendRefusal,
    code_check,
    code_issue,
    code_send,
    code_undelivered,
    last_code,
    session_binding,
)
from .waits import wait_message

__all__ = [
    "SendRefusal",
    "code_check",
    "code_issue",
    "code_send",
    "code_undelivered",
    "method_remove",
    "session_binding",
    "wait_message_for",
]


def wait_message_for(*, user, method: Method, purpose) -> str:
    """What a code typed during the backoff after a wrong one is told: it was not checked, and
    when to type it again (docs/security.md §7)."""
    device = last_code(user=user, method=method, purpose=purpose)
    return wait_message(device) if device is not None else ""


def method_remove(*, request: HttpRequest, user, method: Method, policy, message: str = "") -> bool:
    """Remove a user-managed method. Return False when there was nothing to remove."""
    return lifecycle.remove(request=request, method=method, policy=policy, message=message)
