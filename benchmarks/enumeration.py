"""Does the reset portal take the same time whatever kind of account is typed?

For five kinds of username (unknown, out of scope, not registered, locked out, registered) it
times the first step 200 times each, and a wrong set of security answers 30 times each (each
costs three Argon2 checks), then prints medians and the largest difference between kinds.
"""

from __future__ import annotations

import os
import statistics
import time

import django_setup  # the benchmarks folder is on the path

django_setup.start("sspr-bench-enum-")

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from methods.models import AuthenticationPhone, SecurityAnswer, SecurityQuestion  # noqa: E402
from methods.questions.answers import hash_answer  # noqa: E402
from passwordreset import captcha  # noqa: E402
from policy.models import Policy, Scope  # noqa: E402

STARTS = int(os.environ.get("BENCH_STARTS", "200"))
ANSWERS = int(os.environ.get("BENCH_ANSWERS", "30"))


def setup() -> list[str]:
    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.SSPR_RESET_ATTEMPTS_PER_HOUR = 10**9
    settings.SSPR_RESET_STARTS_PER_IP_PER_HOUR = 10**9
    settings.SSPR_CAPTCHA_DIFFICULTY = 1000
    group, _ = Group.objects.get_or_create(name="enabled")
    policy = Policy.load()
    policy.scope, policy.scope_group = Scope.GROUP, group
    policy.set_option("questions", "enabled", True)
    policy.save()
    User.objects.filter(username__in=["outsider", "fresh", "locked", "rita"]).delete()
    User.objects.create_user("outsider", password="x-long-password-1")
    fresh = User.objects.create_user("fresh", password="x-long-password-2")
    locked = User.objects.create_user("locked", password="x-long-password-3")
    rita = User.objects.create_user("rita", password="x-long-password-4")
    for user in (fresh, locked, rita):
        user.groups.add(group)
    now = timezone.now()
    for user in (locked, rita):
        AuthenticationPhone.objects.create(user=user, number="+447400123456", verified_at=now)
        for question in SecurityQuestion.objects.all()[:3]:
            SecurityAnswer.objects.create(
                user=user, question=question, answer_hash=hash_answer("x y z")
            )
    signer = Client()
    for _ in range(6):
        signer.post("/ssprsetup/signin/", {"username": "locked", "password": "wrong"}, secure=True)
    return ["ghost", "outsider", "fresh", "locked", "rita"]


def start(client: Client, username: str) -> float:
    solution = captcha.solve(client.get("/passwordreset/check/", secure=True).json())
    began = time.perf_counter()
    response = client.post(
        "/passwordreset/",
        {"username": username, "action": "reset", "altcha": solution},
        secure=True,
    )
    elapsed = time.perf_counter() - began
    # The methods page comes in the answer, the same for every name.
    assert response.status_code == 200 and b"data-page-address" in response.content
    return elapsed


def wrong_answers(username: str) -> float:
    client = Client()
    start(client, username)
    page = client.get("/passwordreset/questions/", secure=True).content.decode()
    import re

    fields = re.findall(r'name="(answer_\d+)"', page)
    began = time.perf_counter()
    client.post("/passwordreset/questions/", dict.fromkeys(fields, "wrong"), secure=True)
    return time.perf_counter() - began


def main() -> None:
    kinds = setup()
    starts = {kind: [] for kind in kinds}
    answers = {kind: [] for kind in kinds}
    for _ in range(STARTS):  # interleaved, so drift affects every kind alike
        for kind in kinds:
            starts[kind].append(start(Client(), kind))
    for _ in range(ANSWERS):
        for kind in kinds:
            answers[kind].append(wrong_answers(kind))
    labels = {
        "ghost": "unknown",
        "outsider": "out of scope",
        "fresh": "not registered",
        "locked": "locked out",
        "rita": "registered",
    }
    print(f"\n### Reset portal timing ({STARTS} first steps, {ANSWERS} answer checks each)\n")
    print("| account | first step: median | p90 | wrong answers: median | p90 |")
    print("|---|---:|---:|---:|---:|")
    for kind in kinds:
        s, a = sorted(starts[kind]), sorted(answers[kind])
        s90, a90 = s[int(len(s) * 0.9)], a[int(len(a) * 0.9)]
        print(
            f"| {labels[kind]} | {statistics.median(s) * 1000:.1f} ms | {s90 * 1000:.1f} ms "
            f"| {statistics.median(a) * 1000:.1f} ms | {a90 * 1000:.1f} ms |"
        )
    start_medians = [statistics.median(v) for v in starts.values()]
    answer_medians = [statistics.median(v) for v in answers.values()]
    print(
        f"\nLargest difference between kinds: first step "
        f"{(max(start_medians) - min(start_medians)) * 1000:.1f} ms, answers "
        f"{(max(answer_medians) - min(answer_medians)) * 1000:.1f} ms.\n"
    )


if __name__ == "__main__":
    main()
