"""The sign-in lockout's numbers for the admin home (docs/security.md §40)."""

from __future__ import annotations

from django import template
from django.conf import settings

from directory.lockout import directory_threshold, failure_limit

register = template.Library()


@register.simple_tag
def sign_in_lockout() -> dict:
    return {
        "configured": settings.SSPR_LOCKOUT_FAILURES,
        "limit": failure_limit(),
        "directory": directory_threshold(),
    }
