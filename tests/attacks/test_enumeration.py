"""Enumeration at /passwordreset: five kinds of account (unknown, out of scope, not registered,
locked out, registered and typing their real number and address) walk every step. Each step
answers with the same status, the same headers and cookies, the same page, and, over 200
rounds in shuffled order, a time within 10% of the others (docs/security.md; how times are
compared on a busy machine: tests/support/timing.py)."""

from __future__ import annotations

import re
import time
from collections import defaultdict

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from methods.models import AuthenticationEmail, AuthenticationPhone
from methods.questions import reset as question_checks
from policy.models import Scope
from tests.support import timing
from tests.support.registering import questions_data
from tests.support.resets import shows_methods_page, without_tokens

pytestmark = [pytest.mark.django_db, pytest.mark.timing]

SAMPLES = 200
KINDS = ["ghost", "outsider", "fresh", "locked", "rita"]
REAL_NUMBER, REAL_ADDRESS = "+447400123456", "rita.home@example.net"

# The server's own handling time of each request: from the first middleware in to the
# response going out, as a client across the network would see it (work queued to run after
# the response is not part of it).
TIMES: list[float] = []


class Stopwatch:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        TIMES.append(time.perf_counter() - started)
        return response


@pytest.fixture
def accounts(settings, make_user, policy, approved_questions):
    settings.MIDDLEWARE = ["tests.attacks.test_enumeration.Stopwatch", *settings.MIDDLEWARE]
    settings.PASSWORD_HASHERS = [
        "tests.support.quick_argon2.QuickArgon2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    question_checks.dummy_hash.cache_clear()
    settings.SSPR_CAPTCHA_DIFFICULTY = 50
    settings.SSPR_RESET_ATTEMPTS_PER_HOUR = 10**9
    settings.SSPR_RESET_STARTS_PER_IP_PER_HOUR = 10**9
    settings.SSPR_CODE_RESEND_SECONDS = 0
    settings.SSPR_SEND_LIMITS = {}
    group = Group.objects.create(name="enabled")
    policy.scope, policy.scope_group = Scope.GROUP, group
    policy.save()
    make_user("outsider")
    fresh, locked, rita = make_user("fresh"), make_user("locked"), make_user("rita")
    for user in (fresh, locked, rita):
        user.groups.add(group)
    now = timezone.now()
    AuthenticationPhone.objects.create(user=rita, number=REAL_NUMBER, verified_at=now)
    AuthenticationEmail.objects.create(user=rita, email=REAL_ADDRESS, verified_at=now)
    owner = Client()
    owner.force_login(rita)
    owner.post("/ssprsetup/questions/", questions_data(3))
    signer = Client()
    for _ in range(6):
        signer.post("/ssprsetup/signin/", {"username": "locked", "password": "wrong-password"})
    yield KINDS
    question_checks.dummy_hash.cache_clear()


def steps(username: str) -> list[tuple[str, str, dict | None]]:
    number = REAL_NUMBER if username == "rita" else "+447400555555"
    address = REAL_ADDRESS if username == "rita" else "someone@example.net"
    return [
        ("get", "/passwordreset/methods/", None),
        ("get", "/passwordreset/phone/", None),
        ("post", "/passwordreset/phone/", {"number": number, "channel": "sms"}),
        ("get", "/passwordreset/phone/code/", None),
        ("post", "/passwordreset/phone/code/more-time/", {}),
        ("post", "/passwordreset/phone/code/", {"code": "123456"}),
        ("post", "/passwordreset/email/", {"email": address}),
        ("post", "/passwordreset/email/code/", {"code": "654321"}),
        ("get", "/passwordreset/questions/", None),
        ("post", "/passwordreset/questions/", "wrong answers to the questions shown"),
        ("get", "/passwordreset/finish/", None),
    ]


def observed(response) -> tuple:
    """What an observer can compare: status, where it leads, headers, cookies, the page."""
    body = response.content.decode() if response.status_code == 200 else ""
    body = without_tokens(body)
    # The attempt's own clock (includes/time_limit.html), the same for every account.
    body = re.sub(r'data-seconds-left="\d+"', "", body)
    # The questions differ by account (their stable choice is tested elsewhere).
    body = re.sub(r'<label for="id_answer_\d+">[^<]*</label>', "<label/>", body)
    body = re.sub(r'<a href="#id_answer_\d+">[^<]*</a>', "<a/>", body)
    body = re.sub(r'(id|name|for|aria-describedby)="[^"]*answer_\d+[^"]*"', "", body)
    cookies = {
        name: sorted((key, str(value)) for key, value in morsel.items() if key != "expires")
        for name, morsel in response.cookies.items()
    }
    headers = sorted(key for key in response.headers if key.lower() != "content-length")
    return (response.status_code, response.get("Location"), headers, cookies, body)


def walk(username: str) -> list[tuple[str, tuple, float]]:
    from passwordreset import captcha

    client = Client()
    solution = captcha.solve(client.get("/passwordreset/check/").json())
    TIMES.clear()
    # The first page as a browser sends it now: the name with what is needed; its answer is
    # the methods page, timed with the rest (passwordreset/views.py, start).
    first = client.post(
        "/passwordreset/", {"username": username, "action": "reset", "altcha": solution}
    )
    seen = [("start", observed(first), TIMES[-1])]
    page = ""
    for method, path, data in steps(username):
        if isinstance(data, str):  # answer whatever questions the last page asked
            data = dict.fromkeys(re.findall(r'name="(answer_\d+)"', page), "wrong answer")
        TIMES.clear()
        response = getattr(client, method)(path, data) if data is not None else client.get(path)
        page = response.content.decode()
        seen.append((f"{method} {path}", observed(response), TIMES[-1]))
    return seen


def test_the_first_page_asked_what_is_needed_answers_every_account_alike(accounts):
    """The first page asks the name and what the person needs together, and then leads
    straight to the methods: that answer, and the pages after it, are the same for every kind
    of account (the walk below starts the older way, through the action page)."""
    from passwordreset import captcha

    seen = {}
    for username in accounts:
        client = Client()
        solution = captcha.solve(client.get("/passwordreset/check/").json())
        first = client.post(
            "/passwordreset/", {"username": username, "action": "reset", "altcha": solution}
        )
        assert shows_methods_page(first)  # in the answer
        number = REAL_NUMBER if username == "rita" else "+447400555555"
        seen[username] = [
            observed(first),
            observed(client.get("/passwordreset/methods/")),
            observed(client.post("/passwordreset/phone/", {"number": number, "channel": "sms"})),
        ]
    for username in accounts:
        assert seen[username] == seen["rita"], username


def test_every_step_looks_the_same_and_takes_the_same_time(accounts):
    walk("ghost")  # warm up: templates, caches, first queries
    reference: dict[str, dict[str, tuple]] = {}

    def sample(orders: list[list[str]]) -> timing.Times:
        times: timing.Times = defaultdict(lambda: defaultdict(list))
        for order in orders:
            for username in order:
                for step, seen, elapsed in walk(username):
                    times[step][username].append(elapsed)
                    reference.setdefault(username, {})[step] = seen
        return times

    slow, report = timing.judged(sample, accounts, SAMPLES)
    for username in accounts:
        for step, seen in reference[username].items():
            assert seen == reference["rita"][step], (username, step)
    print(report)
    assert not slow, report
