"""The sign-in lockout's numbers for the admin home (docs/security.md §40)."""

from __future__ import annotations

from django import template

from directory.conf import app_settings
from directory.lockout import directory_threshold, failure_limit

register = template.Library()


@register.simple_tag
def sign_in_lockout() -> dict:
    return {
        "configured": app_settings.LOCKOUT_FAILURES,
        "limit": failure_limit(),
        "directory": directory_threshold(),
    }
