"""The registration summary on the admin's home page."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django import template
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.forms.models import model_to_dict
from django.utils import timezone

from policy.models import Policy
from registration.queries import RegistrationState, with_methods, with_state
from sspr_site import shared_cache

register = template.Library()


# The summary reads everyone in scope (about 3 s at a million people, docs/performance.md): it
# is counted at most once a minute for the same policy, and the page says when.
SUMMARY_SECONDS = 60


@register.simple_tag
def registration_summary() -> dict:
    """People in scope, how many are registered and how many can reset: one query, kept for
    SUMMARY_SECONDS (a new policy counts again)."""
    policy = Policy.load()
    key = (
        "sspr:admin-summary:"
        + hashlib.sha256(repr(sorted(model_to_dict(policy).items())).encode()).hexdigest()[:24]
    )
    kept = shared_cache.read(key)
    # Its age is read from the counts themselves (the cache's own expiry is only the backstop).
    if kept is not None and timezone.now() - kept["counted_at"] < timedelta(
        seconds=SUMMARY_SECONDS
    ):
        return kept
    people = with_methods(with_state(policy.scoped_users(get_user_model().objects), policy), policy)
    counts = people.aggregate(
        in_scope=Count("pk"),
        registered=Count("pk", filter=~Q(sspr_state=RegistrationState.NOT_REGISTERED)),
        can_reset=Count("pk", filter=Q(sspr_can_reset=1)),
    )
    counts["counted_at"] = timezone.now()
    shared_cache.keep(key, counts, 2 * SUMMARY_SECONDS)
    return counts
