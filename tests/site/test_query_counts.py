"""Pages cost the same number of queries however many people there are (no query per row):
each page is counted with a handful of users, then again with two hundred more who have every
kind of method, registration and history."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.log import record
from audit.models import EventKind
from methods.models import (
    AuthenticationEmail,
    AuthenticationPhone,
    OfficePhone,
    SecurityAnswer,
    SecurityQuestion,
)
from registration.models import Registration
from tests.support.people import past_sign_in_check

pytestmark = pytest.mark.django_db

SIGNED_IN_PAGES = [
    "/ssprsetup/",
    "/ssprsetup/phone/",
    "/ssprsetup/email/",
    "/ssprsetup/questions/",
    "/ssprsetup/password/",
]
HELPDESK_PAGES = [
    "/helpdesk/",
    "/helpdesk/?can_reset=no&sort=-state",
    "/helpdesk/users/{pk}/",
    "/helpdesk/report/",
]
ADMIN_PAGES = ["/admin/", "/admin/auth/user/", "/admin/auth/user/?sspr_can_reset=no"]


def crowd(count: int, questions) -> None:
    now = timezone.now()
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"person{n:04d}", password="!", is_staff=n % 7 == 0)
        for n in range(count)
    )
    AuthenticationPhone.objects.bulk_create(
        AuthenticationPhone(user=u, number="+447400123456", verified_at=now) for u in users[::2]
    )
    AuthenticationEmail.objects.bulk_create(
        AuthenticationEmail(user=u, email=f"{u.username}@example.net", verified_at=now)
        for u in users[::3]
    )
    OfficePhone.objects.bulk_create(OfficePhone(user=u, number="+442071838750") for u in users[::5])
    SecurityAnswer.objects.bulk_create(
        SecurityAnswer(user=u, question=q, answer_hash="x") for u in users[::4] for q in questions
    )
    Registration.objects.bulk_create(
        Registration(user=u, completed_at=now, last_confirmed_at=now) for u in users[::2]
    )
    for user in users[:50]:
        record(EventKind.METHOD_VERIFIED, subject=user, method="authentication_phone")


def counts(clients: dict[str, Client], pages: dict[str, list[str]]) -> dict[str, int]:
    found = {}
    for who, paths in pages.items():
        for path in paths:
            clients[who].get(path)  # warm: first-request work is not the page's
            with CaptureQueriesContext(connection) as queries:
                response = clients[who].get(path)
            assert response.status_code == 200, (path, response.status_code)
            # The policy comes from the shared cache once committed (tests/registration/
            # test_policy_memo.py); inside a test's transaction it is read, so it is not counted.
            found[path] = sum(
                "registration_policy" not in query["sql"] for query in queries.captured_queries
            )
    return found


def test_no_page_costs_a_query_per_person(make_user, admin_client, approved_questions):
    alice = make_user("alice")
    from django.contrib.auth.models import Group

    agent = make_user("agent")
    agent.groups.add(Group.objects.get(name="Helpdesk"))
    clients = {
        "alice": past_sign_in_check(Client(), alice),
        "agent": past_sign_in_check(Client(), agent),
        "admin": admin_client,
    }
    pages = {
        "alice": SIGNED_IN_PAGES,
        "agent": [path.format(pk=alice.pk) for path in HELPDESK_PAGES],
        "admin": ADMIN_PAGES,
    }
    few = counts(clients, pages)
    crowd(200, list(SecurityQuestion.objects.filter(active=True)[:3]))
    many = counts(clients, pages)
    assert many == few
    # The budget: at most six queries a page, sessions and the policy coming from the cache.
    for path, found in few.items():
        assert found <= 6, (path, found)
