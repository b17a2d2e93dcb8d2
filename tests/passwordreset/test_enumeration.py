"""No enumeration (docs/security.md §12-13): every kind of account sees exactly the same thing."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from passwordreset.views import NOT_VERIFIED
from policy.models import Scope
from tests.support.resets import start_reset, without_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(make_user, registered, policy):
    """Six usernames: unknown, out of scope, not registered, locked out, turned off (an
    unknown name for the portal: docs/security.md rule 70), registered."""
    group = Group.objects.create(name="enabled")
    policy.scope, policy.scope_group = Scope.GROUP, group
    policy.save()
    make_user("outsider")
    unregistered = make_user("fresh")
    locked = make_user("locked")
    gone = make_user("gone")
    gone.is_active = False
    gone.save()
    for user in (unregistered, locked, gone, registered):
        user.groups.add(group)
    signer = Client()
    for _ in range(6):
        signer.post("/ssprsetup/signin/", {"username": "locked", "password": "wrong-password"})
    return ["ghost", "outsider", "fresh", "locked", "gone", "rita"]


def normalised(response) -> str:
    return without_tokens(response.content.decode())


def walk(username: str) -> list:
    """The same clicks for any account; collect what an observer sees at each step."""
    client = Client()
    seen = []
    response = start_reset(client, username, action=None)
    seen.append((response.status_code, response.get("Location"), sorted(response.headers)))
    for method, path, data in [
        ("post", "/passwordreset/action/", {"action": "reset"}),
        ("get", "/passwordreset/methods/", None),
        ("post", "/passwordreset/phone/", {"number": "+447400555555", "channel": "sms"}),
        ("get", "/passwordreset/phone/code/", None),
        ("post", "/passwordreset/phone/code/", {"code": "123456"}),
        ("get", "/passwordreset/email/", None),
        ("post", "/passwordreset/email/", {"email": "someone@example.net"}),
        ("get", "/passwordreset/questions/", None),
        ("post", "/passwordreset/questions/", {}),
        ("get", "/passwordreset/finish/", None),
    ]:
        response = getattr(client, method)(path, data) if data is not None else client.get(path)
        body = normalised(response) if response.status_code == 200 else ""
        # The questions shown differ by account; their text is compared separately.
        body = re.sub(r'<label for="id_answer_\d+">[^<]*</label>', "<label/>", body)
        body = re.sub(r'<a href="#id_answer_\d+">[^<]*</a>', "<a/>", body)
        body = re.sub(r'(id|name|for|aria-describedby)="[^"]*answer_\d+[^"]*"', "", body)
        seen.append((path, response.status_code, response.get("Location"), body))
    return seen


def test_every_kind_of_account_sees_the_same_pages(accounts):
    walks = {username: walk(username) for username in accounts}
    reference = walks["rita"]
    for username, seen in walks.items():
        assert seen == reference, username
    # And the failed check says the same sentence everyone gets.
    assert str(NOT_VERIFIED) in reference[5][3]


def test_question_sets_are_stable_for_accounts_without_questions(accounts):
    def asked(username):
        client = Client()
        start_reset(client, username)
        page = client.get("/passwordreset/questions/").content.decode()
        return re.findall(r'name="answer_(\d+)"', page)

    for username in ("ghost", "fresh"):
        first, second = asked(username), asked(username)
        assert first == second and len(first) == 3


def test_answers_cost_the_same_hashing_for_every_kind_of_account(accounts, monkeypatch):
    """Each answer is checked against a stored hash or a stand-in (docs/security.md §12): the
    hasher does the same work for a name with questions as for any other, so the time taken
    does not tell them apart. Counted, not timed: the tests' hasher is too quick to time."""
    import argon2

    from methods.models import SecurityAnswer, SecurityQuestion
    from methods.questions.answers import hash_answer, normalise

    for question in SecurityQuestion.objects.filter(active=True)[:3]:
        SecurityAnswer.objects.create(
            user=User.objects.get(username="rita"),
            question=question,
            answer_hash=hash_answer(normalise("the answer")),
        )
    work = []
    for name in ("verify", "hash"):
        original = getattr(argon2.PasswordHasher, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            work.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(argon2.PasswordHasher, name, counted)
    from methods.questions.reset import dummy_hash

    dummy_hash()  # made once per process, before any person's answers
    counts = {}
    for username in accounts:
        client = Client()
        start_reset(client, username)
        page = client.get("/passwordreset/questions/").content.decode()
        asked = re.findall(r'name="answer_(\d+)"', page)
        work.clear()
        client.post("/passwordreset/questions/", {f"answer_{pk}": "wrong" for pk in asked})
        counts[username] = (len(asked), list(work))
    assert counts["rita"] == (3, ["verify"] * 3)
    assert all(count == counts["rita"] for count in counts.values()), counts


def test_the_first_step_costs_every_kind_of_account_the_same_queries(accounts):
    """What the database is asked at the first step is the same for every name: a turned-off
    account too, whose scope is asked as an unknown name's is."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for username in accounts:
        with CaptureQueriesContext(connection) as queries:
            start_reset(Client(), username, action="reset")
        counts[username] = len(queries)
    assert len(set(counts.values())) == 1, counts
