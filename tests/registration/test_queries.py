"""Who can reset, computed for many users at once (docs/security.md §14)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from policy.models import Policy
from registration.queries import with_methods
from tests.registration.test_admin_users import give

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("methods", "staff", "required", "can_reset"),
    [
        ({"phone": True}, False, 1, True),
        ({"answers": 3}, False, 1, False),  # questions never suffice alone
        ({"answers": 3}, False, 2, False),
        ({"phone": True, "answers": 3}, False, 2, True),
        ({"phone": True, "answers": 2}, False, 2, False),  # fewer answers than reset asks
        ({"phone": True, "email": True}, False, 2, True),
        ({"office": True}, False, 1, True),
        ({}, False, 1, False),
        ({"phone": True, "answers": 3}, True, 1, False),  # staff: two, never questions
        ({"phone": True, "email": True}, True, 1, True),
        ({"phone": True, "office": True}, True, 2, True),
    ],
)
def test_can_reset(make_user, policy, methods, staff, required, can_reset):
    policy.set_option("office", "enabled", True)
    policy.reset_methods_required = required
    policy.save()
    user = make_user("subject", staff=staff, password=None)
    give(user, **methods)
    row = with_methods(get_user_model().objects.filter(pk=user.pk), Policy.load()).get()
    assert row.sspr_can_reset is can_reset


def test_disabled_methods_do_not_count(make_user, policy):
    policy.set_option("email", "enabled", False)
    policy.methods_required = policy.reset_methods_required = 1
    policy.save()
    user = make_user("subject", password=None)
    give(user, email=True)
    row = with_methods(get_user_model().objects.filter(pk=user.pk), Policy.load()).get()
    assert row.sspr_can_reset is False
