"""A leaver past the retention period has no row of any method left (README: recovery data
is removed), whatever methods the registry holds: directory/sync.py removes it through
methods.lifecycle.purge, not a list of its own. Before, an authenticator key and passkeys
stayed."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from directory.servers import PEOPLE
from directory.sync import sync_directory
from methods.registry import REGISTRY, UserMethods
from registration.models import Registration
from tests.methods.test_contract import REGISTER, method_rows

pytestmark = [pytest.mark.directory, pytest.mark.django_db]


def test_a_leaver_past_retention_keeps_no_row_of_any_method(
    slapd, directory, approved_questions, policy
):
    sync_directory()
    User = get_user_model()
    grace, ada = User.objects.get(username="grace"), User.objects.get(username="ada")
    for n, (key, method) in enumerate(REGISTRY.items()):
        for user, base in ((grace, 60), (ada, 80)):
            if not method.status(UserMethods.load(user), policy).is_set:  # the office phone
                REGISTER[key](user, base + n)
    Registration.objects.create(user=grace, completed_at=timezone.now())
    kept = method_rows(ada)
    conn = slapd.connect()
    conn.delete_s(f"uid=grace,{PEOPLE}")
    sync_directory()
    assert sum(method_rows(grace).values()) > 0  # kept for the retention period
    sync_directory(now=timezone.now() + datetime.timedelta(days=31))
    assert not any(method_rows(grace).values()), method_rows(grace)
    assert not Registration.objects.filter(user=grace).exists()
    assert method_rows(ada) == kept
