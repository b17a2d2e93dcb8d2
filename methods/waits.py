"""What a person is told while a code would not be looked at: shared by the code family's
pages, the authenticator app's, and the helpdesk's caller check (docs/security.md §7)."""

from __future__ import annotations

import math

from django.utils import timezone
from django.utils.translation import ngettext


def seconds_until(moment) -> int:
    """Whole seconds from now until `moment`, at least 1: shown instead of a clock time, which
    would be the server's and not the reader's."""
    return max(1, math.ceil((moment - timezone.now()).total_seconds()))


def wait_message(device) -> str:
    """A try during the backoff after a wrong code is not checked and not counted. The person
    is told so, and for how long to wait: that tells them nothing about the code they typed,
    which was not looked at (docs/security.md §7). `device` is a django-otp throttled device."""
    _allowed, info = device.verify_is_allowed()
    until = (info or {}).get("locked_until")
    seconds = seconds_until(until) if until else 1
    return ngettext(
        "That was too soon after a wrong code, so it was not checked. Enter the code again in "
        "%(seconds)d second.",
        "That was too soon after a wrong code, so it was not checked. Enter the code again in "
        "%(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}
