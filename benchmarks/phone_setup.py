"""Benchmark: setting up an authentication phone, step by step, against a peer; and the floor
of a page here (the base layout, the reset portal's first page) against a bare view.

This site's four requests (overview, number form, the number and how to send the code, whose
response is the code page, the code) and django-two-factor-auth's phone setup wizard (its five:
welcome page, welcome, method, number, token; each step's response is the next step's form) on
the same machine, the same Django, django-otp and phonenumbers, in process, messages to in-memory
backends (this site's locmem phone backend, the peer's fake gateway). Both run on an SQLite file
with the same options: write-ahead log, synchronous=NORMAL, IMMEDIATE transactions
(sspr_site/settings.py, benchmarks/peer/settings.py); or, with DATABASE_URL naming PostgreSQL,
each on a database of its own on the same server, connections kept open (make bench runs both;
on PostgreSQL without REDIS_URL, so that both sides keep their cache in the process). Each setup
is a new signed-in user in a browser with no cookies, on a site already serving (its middleware
loaded once, as a served site's process does).

Each side runs in its own process (its own settings), kept running; after WARMUP setups on each,
they take turns, BATCH setups at a time (this site, the peer, this site, the peer, …) for PAIRS
turns each, so both meet the same load on a busy machine. Each pair of turns gives a ratio (the
sum of the step medians here over the peer's); the table gives the median of each step over
every setup, and the ratio's spread (min, median, max over the pairs).

    python benchmarks/phone_setup.py                # a Markdown table
    python benchmarks/phone_setup.py serve ours|peer  # one side, driven by the table (internal)

The peer is installed by `make bench` into var/peer-lib (requirements-bench.txt), outside the
site's environment.
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "60"))
WARMUP = 10
PAIRS = int(os.environ.get("BENCH_PAIRS", "10"))
BATCH = int(os.environ.get("BENCH_BATCH", "10"))
# The every-page walk after the comparison (0: the comparison alone, as make bench's PostgreSQL
# pass runs it).
FLOORS = os.environ.get("BENCH_FLOORS", "1") != "0"
POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
ANSWER = "phone-setup-answer: "
LOGS = ROOT / "var"


def timed(call, *args):
    began = time.perf_counter()
    response = call(*args)
    return (time.perf_counter() - began) * 1000, response


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {step: statistics.median(values[WARMUP:]) for step, values in samples.items()}


def fresh_browser(served):
    """A client with no cookies on `served`'s handler: a new person on a site already serving.
    A new Client would build its handler, loading every middleware on its first request, which
    a served site does once per process, not per person (on both sides alike)."""
    from http.cookies import SimpleCookie

    served.cookies = SimpleCookie()
    return served


def ours():
    """This site: the setup's steps, one setup (its step times), and the floors."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import django_setup

    django_setup.start("sspr-bench-phone-")
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from methods.backends import locmem

    call_command("migrate", verbosity=0)
    # As in production (no query log), with plain static names (no collectstatic needed).
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SSPR_PHONE_BACKEND = "locmem"
    settings.SSPR_DELIVERY = "in_process"
    settings.SSPR_CODE_RESEND_SECONDS = 0
    # One address walks every page many times: the per-address limits would stop it.
    settings.SSPR_SEND_LIMITS = dict.fromkeys(
        ("user", "destination", "ip", "prefix", "overall"), 10**9
    )
    settings.SSPR_RESET_STARTS_PER_IP_PER_HOUR = 10**9
    settings.SSPR_SIGN_IN_FAILURES_PER_IP = 10**9
    # Passwords with a fast hasher (as the peer's); security answers keep the site's Argon2.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "passwords.hashers.Argon2PasswordHasher",
    ]
    steps = ["overview", "number form", "number and how to send (the code page)", "code"]

    served = Client()

    def one_setup(n: int) -> list[float]:
        user = get_user_model().objects.create_user(f"bench{n}", password="x")
        client = fresh_browser(served)
        client.force_login(user)
        session = client.session
        session.pop("sspr_check_registration", None)
        session.save()
        number = f"+4474009{n:05d}"
        results = [
            timed(client.get, "/ssprsetup/"),
            timed(client.get, "/ssprsetup/phone/"),
            timed(
                client.post,
                "/ssprsetup/phone/",
                {"region": "", "number": number, "channel": "sms"},
            ),
        ]
        # The code page comes in the same response (the peer's number step, too, renders its
        # token form); a redirect here would be a request more, to be timed.
        assert b'name="code"' in results[-1][1].content, results[-1][1].status_code
        code = "".join(ch for ch in locmem.outbox[-1].text if ch.isdigit())[:6]
        results.append(timed(client.post, "/ssprsetup/phone/verify/", {"code": code}))
        assert results[-1][1].status_code == 302, results[-1][1].content[:300]
        return [ms for ms, _response in results]

    def floors() -> dict[str, float]:
        result = {}
        anonymous = Client()
        times = [timed(anonymous.get, "/no/such/page/")[0] for _ in range(ROUNDS)]
        result["the base layout (a page not found)"] = statistics.median(times[WARMUP:])
        from methods.questions.answers import hash_answer

        times = [timed(hash_answer, f"an answer {n}")[0] for n in range(WARMUP + 10)]
        result["Argon2, one security answer"] = statistics.median(times[WARMUP:])
        result.update(every_page())
        return result

    return steps, one_setup, floors


def _code(text: str) -> str:
    return re.findall(r"\b\d{6}\b", text)[-1]


def every_page() -> dict[str, float]:
    """Every page of /ssprsetup, /passwordreset and /helpdesk, GET and POST, each round a new
    person walking the whole way (medians). Messages go to in-memory backends; passwords use a
    fast hasher here, and the pages that hash security answers (Argon2) are marked."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core import mail
    from django.test import Client

    from methods.backends import locmem
    from passwordreset import captcha

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    User = get_user_model()
    agent = User.objects.create_superuser("bench-agent", "agent@example.org", "x")
    desk = Client()
    desk.force_login(agent)
    session = desk.session
    session.pop("sspr_check_registration", None)
    session.save()
    samples: dict[str, list[float]] = {}

    def step(label, call, *args, expect=None, shows=None):
        ms, response = timed(call, *args)
        # A page shown is 200; a step passed is a redirect to the next one, or the next page
        # in its answer (`shows`: the address that page names as its own).
        expect = expect or (200 if label.startswith("GET") else 302)
        assert response.status_code == expect, (label, response.status_code)
        assert shows is None or f'data-page-address="{shows}"'.encode() in response.content, label
        samples.setdefault(label, []).append(ms)
        return response

    for n in range(ROUNDS):
        name = f"walker{n}"
        user = User.objects.create_user(name, password="x")
        person = Client()
        step("GET /ssprsetup/signin/", person.get, "/ssprsetup/signin/")
        step(
            "POST /ssprsetup/signin/",
            person.post,
            "/ssprsetup/signin/",
            {"username": name, "password": "x"},
        )
        session = person.session
        session.pop("sspr_check_registration", None)
        session.save()
        step("GET /ssprsetup/", person.get, "/ssprsetup/")
        number = f"+4474008{n:05d}"
        step("GET /ssprsetup/phone/", person.get, "/ssprsetup/phone/")
        step(
            "POST /ssprsetup/phone/ (number and how to send; answers with the code page)",
            person.post,
            "/ssprsetup/phone/",
            {"region": "", "number": number, "channel": "sms"},
            expect=200,
        )
        step("GET /ssprsetup/phone/verify/", person.get, "/ssprsetup/phone/verify/")
        code = _code(locmem.outbox[-1].text)
        step(
            "POST /ssprsetup/phone/verify/", person.post, "/ssprsetup/phone/verify/", {"code": code}
        )
        address = f"{name}.home@example.net"
        step("GET /ssprsetup/email/", person.get, "/ssprsetup/email/")
        step(
            "POST /ssprsetup/email/ (address and send; answers with the code page)",
            person.post,
            "/ssprsetup/email/",
            {"email": address},
            expect=200,
        )
        step("GET /ssprsetup/email/verify/", person.get, "/ssprsetup/email/verify/")
        code = _code(mail.outbox[-1].body)
        step(
            "POST /ssprsetup/email/verify/", person.post, "/ssprsetup/email/verify/", {"code": code}
        )
        page = step(
            "GET /ssprsetup/questions/", person.get, "/ssprsetup/questions/"
        ).content.decode()
        ids = sorted(set(re.findall(r'<option value="(\d+)"', page)))[:3]
        answers = {}
        for index, question in enumerate(ids, start=1):
            answers[f"question_{index}"] = question
            answers[f"answer_{index}"] = f"answer {index} for {name}"
        step(
            "POST /ssprsetup/questions/ (3 Argon2 hashes)",
            person.post,
            "/ssprsetup/questions/",
            answers,
        )
        step("POST /ssprsetup/finish/", person.post, "/ssprsetup/finish/", {})

        visitor = Client()
        step("GET /passwordreset/", visitor.get, "/passwordreset/")
        challenge = step("GET /passwordreset/check/", visitor.get, "/passwordreset/check/").json()
        step(
            "POST /passwordreset/ (name, what is needed and puzzle; answers with the methods page)",
            visitor.post,
            "/passwordreset/",
            {"username": name, "action": "reset", "altcha": captcha.solve(challenge)},
            expect=200,
            shows="/passwordreset/methods/",
        )
        step("GET /passwordreset/methods/", visitor.get, "/passwordreset/methods/")
        step("GET /passwordreset/phone/", visitor.get, "/passwordreset/phone/")
        step(
            "POST /passwordreset/phone/ (number and send; answers with the code page)",
            visitor.post,
            "/passwordreset/phone/",
            {"number": number, "channel": "sms"},
            expect=200,
        )
        step("GET /passwordreset/phone/code/", visitor.get, "/passwordreset/phone/code/")
        code = _code(locmem.outbox[-1].text)
        step(
            "POST /passwordreset/phone/code/ (answers with the new password's page)",
            visitor.post,
            "/passwordreset/phone/code/",
            {"code": code},
            expect=200,
        )
        step("GET /passwordreset/finish/", visitor.get, "/passwordreset/finish/")
        new = f"Bench-{n}-lantern-copper-2027"
        step(
            "POST /passwordreset/finish/ (answers with the done page)",
            visitor.post,
            "/passwordreset/finish/",
            {"new_password1": new, "new_password2": new},
            expect=200,
            shows="/passwordreset/done/",
        )
        step("GET /passwordreset/done/", visitor.get, "/passwordreset/done/")

        step("GET /helpdesk/", desk.get, "/helpdesk/")
        step("GET /helpdesk/users/<id>/", desk.get, f"/helpdesk/users/{user.pk}/")
        step("GET /helpdesk/users/<id>/verify/", desk.get, f"/helpdesk/users/{user.pk}/verify/")
        step(
            "POST /helpdesk/users/<id>/verify/ (send)",
            desk.post,
            f"/helpdesk/users/{user.pk}/verify/",
            {"method": "phone"},
        )
        code = _code(locmem.outbox[-1].text)
        page = step(
            "POST /helpdesk/users/<id>/verify/code/",
            desk.post,
            f"/helpdesk/users/{user.pk}/verify/code/",
            {"code": code},
            expect=200,  # the page says whether the caller is verified
        ).content.decode()
        assert "Not verified" not in page, "the caller check failed"
        step("GET /helpdesk/report/", desk.get, "/helpdesk/report/")
    return medians(samples)


def peer():
    """django-two-factor-auth: the wizard's steps, one setup (its step times), and the floor."""
    sys.path.insert(0, str(ROOT / "var" / "peer-lib"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ["DJANGO_SETTINGS_MODULE"] = "peer.settings"
    import logging

    import django

    _peer_database()

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    tokens: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record):
            tokens.append(re.findall(r"\d{6}", record.getMessage())[-1])

    gateway = logging.getLogger("two_factor.gateways.fake")
    gateway.addHandler(Catch())
    gateway.setLevel(logging.INFO)
    gateway.propagate = False
    steps = ["welcome page", "welcome", "method", "number", "token"]
    url = "/account/two_factor/setup/"

    served = Client()

    def one_setup(n: int) -> list[float]:
        user = get_user_model().objects.create_user(f"bench{n}", password="x")
        client = fresh_browser(served)
        client.force_login(user)
        number = f"+4474009{n:05d}"

        def step(name, data):
            return {"setup_view-current_step": name, **data}

        results = [
            timed(client.get, url),
            timed(client.post, url, step("welcome", {})),
            timed(client.post, url, step("method", {"method-method": "sms"})),
            timed(client.post, url, step("sms", {"sms-number": number})),
        ]
        token = tokens[-1]
        results.append(timed(client.post, url, step("validation", {"validation-token": token})))
        assert results[-1][1].status_code == 302, results[-1][1].content[:300]
        return [ms for ms, _response in results]

    def floors() -> dict[str, float]:
        anonymous = Client()
        times = [timed(anonymous.get, "/bare/")[0] for _ in range(ROUNDS)]
        return {"a bare view": statistics.median(times[WARMUP:])}

    return steps, one_setup, floors


def _peer_database() -> None:
    """On PostgreSQL the peer has a database of its own on the site's server: made if missing."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(url)
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as connection:
        name = db["NAME"] + "_peer"
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if found.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def serve(side: str) -> None:
    """One side, kept running: "setups N" runs N setups and answers their step times;
    "floors" answers the floors; each answer is one line of JSON after ANSWER."""
    steps, one_setup, floors = ours() if side == "ours" else peer()
    done = 0
    for line in sys.stdin:
        command, *args = line.split()
        if command == "setups":
            count = int(args[0])
            answer = {"steps": steps, "samples": [one_setup(done + i) for i in range(count)]}
            done += count
        else:
            answer = floors()
        print(ANSWER + json.dumps(answer), flush=True)


class Side:
    def __init__(self, side: str):
        # A side's log lines (this site logs each request and audit event) go to a file, as a
        # served site's go to a file or the journal: on a terminal or a pipe, whatever reads
        # them competes for the processor with the side being timed (about 1 ms a setup on
        # two cores, docs/performance.md, "A thirty-sixth look").
        LOGS.mkdir(exist_ok=True)
        self.log = (LOGS / f"bench-phone-{side}.log").open("w")
        self.process = subprocess.Popen(  # noqa: S603  (this script, one side)
            [sys.executable, __file__, "serve", side],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def ask(self, command: str):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:  # anything else a side prints is passed over
            if line.startswith(ANSWER):
                return json.loads(line.removeprefix(ANSWER))
        stopped = self.process.wait()
        raise SystemExit(f"the benchmark's side stopped ({stopped}); its log: {self.log.name}")

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()
        self.log.close()


def step_medians(samples: list[list[float]]) -> list[float]:
    return [statistics.median(column) for column in zip(*samples, strict=True)]


def table() -> str:
    sides = {"ours": Side("ours"), "peer": Side("peer")}
    try:
        for side in sides.values():
            side.ask(f"setups {WARMUP}")
        samples: dict[str, list[list[float]]] = {"ours": [], "peer": []}
        names: dict[str, list[str]] = {}
        ratios = []
        for _pair in range(PAIRS):
            totals = {}
            for key, side in sides.items():  # this site, then the peer: A B A B
                answer = side.ask(f"setups {BATCH}")
                names[key] = answer["steps"]
                samples[key] += answer["samples"]
                totals[key] = sum(step_medians(answer["samples"]))
            ratios.append(totals["ours"] / totals["peer"])
        floors = {**sides["ours"].ask("floors"), **sides["peer"].ask("floors")} if FLOORS else {}
    finally:
        for side in sides.values():
            side.close()
    runs = {key: dict(zip(names[key], step_medians(samples[key]), strict=True)) for key in sides}
    ours_total, peer_total = sum(runs["ours"].values()), sum(runs["peer"].values())
    lines = [
        "\n## Phone setup against a peer ("
        + (
            "PostgreSQL, one server, a database each"
            if POSTGRES
            else "SQLite, the same options on both sides"
        )
        + f", {platform.machine()}, {datetime.date.today().isoformat()}, median of {PAIRS * BATCH} "
        "setups each, interleaved)\n",
        "| this site's step | time | django-two-factor-auth's step | time |",
        "|---|---|---|---|",
    ]
    for mine, theirs in itertools.zip_longest(runs["ours"].items(), runs["peer"].items()):
        here = f"{mine[0]} | {mine[1]:.1f} ms" if mine else " | "
        there = f"{theirs[0]} | {theirs[1]:.1f} ms" if theirs else " | "
        lines.append(f"| {here} | {there} |")
    lines.append(f"| **whole setup** | **{ours_total:.1f} ms** | | **{peer_total:.1f} ms** |")
    lines.append(
        f"\nRatio: this site takes {ours_total / peer_total:.2f}x the peer's time "
        f"(target: at most 0.7x). Over {PAIRS} interleaved pairs of {BATCH} setups each: "
        f"min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x, "
        f"max {max(ratios):.2f}x."
    )
    if not FLOORS:
        return "\n".join(lines)
    bare = floors.pop("a bare view")
    argon2 = floors.pop("Argon2, one security answer")
    lines += [
        "\n### Every page against a bare view in a default project (same Django, same run)\n",
        f"Median of {ROUNDS - WARMUP} walks, each a new person; messages to in-memory backends "
        f"(a provider's own time is not in these figures); passwords with a fast hasher, as the "
        f"peer's. Hashing one security answer with Argon2 takes {argon2:.0f} ms on its own; "
        "the page that hashes three is marked.\n",
        "| page | median | times the bare view | target |",
        "|---|---:|---:|---:|",
        f"| a bare view (default project) | {bare:.2f} ms | 1.00x | |",
    ]
    for label, ms in floors.items():
        target = "1.2x" if "base layout" in label else "1.5x"
        lines.append(f"| {label} | {ms:.2f} ms | {ms / bare:.1f}x | {target} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        print(table())
