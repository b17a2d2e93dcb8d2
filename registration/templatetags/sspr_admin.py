"""The registration summary on the admin's home page."""

from __future__ import annotations

from django import template
from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from policy.models import Policy
from registration.queries import RegistrationState, with_methods, with_state

register = template.Library()


@register.simple_tag
def registration_summary() -> dict:
    """People in scope, how many are registered and how many can reset: one query."""
    policy = Policy.load()
    people = with_methods(with_state(policy.scoped_users(get_user_model().objects), policy), policy)
    counts = people.aggregate(
        in_scope=Count("pk"),
        registered=Count("pk", filter=~Q(sspr_state=RegistrationState.NOT_REGISTERED)),
        can_reset=Count("pk", filter=Q(sspr_can_reset=1)),
    )
    return counts
