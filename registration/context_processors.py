from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from policy.models import Policy


def sspr(request):
    """The policy (for the helpdesk contact on every page), loaded only if a page uses it."""
    return {"policy": SimpleLazyObject(Policy.load)}
