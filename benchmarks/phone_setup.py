"""Benchmark: setting up an authentication phone, step by step, against a peer; and the floor
of a page here (the base layout, the reset portal's first page) against a bare view.

This site's five requests (overview, number form, number, send, code) and django-two-factor-
auth's phone setup wizard (its five: welcome page, welcome, method, number, token) on the same
machine, the same Django, django-otp and phonenumbers, SQLite, in process, messages to
in-memory backends (this site's locmem phone backend, the peer's fake gateway). Each setup is a
new signed-in user; the median of each step over ROUNDS setups is reported.

    python benchmarks/phone_setup.py           # both, a Markdown table
    python benchmarks/phone_setup.py ours|peer # one side, JSON (the peer runs in its own process)

The peer is installed by `make bench` into var/peer-lib (requirements-bench.txt), outside the
site's environment.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "60"))
WARMUP = 10


def timed(call, *args):
    began = time.perf_counter()
    response = call(*args)
    return (time.perf_counter() - began) * 1000, response


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {step: statistics.median(values[WARMUP:]) for step, values in samples.items()}


def ours() -> dict[str, float]:
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
    settings.SSPR_SEND_LIMITS = dict.fromkeys(
        ("user", "destination", "ip", "prefix", "overall"), 10**9
    )
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    steps = ["overview", "number form", "number", "send", "code"]
    samples: dict[str, list[float]] = {step: [] for step in steps}
    for n in range(ROUNDS):
        user = get_user_model().objects.create_user(f"bench{n}", password="x")
        client = Client()
        client.force_login(user)
        session = client.session
        session.pop("sspr_check_registration", None)
        session.save()
        number = f"+4474009{n:05d}"
        results = [
            timed(client.get, "/ssprsetup/"),
            timed(client.get, "/ssprsetup/phone/"),
            timed(client.post, "/ssprsetup/phone/", {"region": "", "number": number}),
            timed(client.post, "/ssprsetup/phone/send/", {"channel": "sms"}),
        ]
        code = "".join(ch for ch in locmem.outbox[-1].text if ch.isdigit())[:6]
        results.append(timed(client.post, "/ssprsetup/phone/verify/", {"code": code}))
        assert results[-1][1].status_code == 302, results[-1][1].content[:300]
        for step, (ms, _response) in zip(steps, results, strict=True):
            samples[step].append(ms)
    result = medians(samples)
    anonymous = Client()
    for label, path in (
        ("page not found (the base layout)", "/no/such/page/"),
        ("reset portal, first page", "/passwordreset/"),
    ):
        times = [timed(anonymous.get, path)[0] for _ in range(ROUNDS)]
        result[f"floor:{label}"] = statistics.median(times[WARMUP:])
    return result


def peer() -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "var" / "peer-lib"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ["DJANGO_SETTINGS_MODULE"] = "peer.settings"
    import logging
    import re

    import django

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
    samples: dict[str, list[float]] = {step: [] for step in steps}
    url = "/account/two_factor/setup/"
    for n in range(ROUNDS):
        user = get_user_model().objects.create_user(f"bench{n}", password="x")
        client = Client()
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
        for step, (ms, _response) in zip(steps, results, strict=True):
            samples[step].append(ms)
    result = medians(samples)
    anonymous = Client()
    times = [timed(anonymous.get, "/bare/")[0] for _ in range(ROUNDS)]
    result["floor:a bare view"] = statistics.median(times[WARMUP:])
    return result


def table() -> str:
    runs = {}
    for side in ("ours", "peer"):
        output = subprocess.run(  # noqa: S603  (this script, another side)
            [sys.executable, __file__, side], check=True, capture_output=True, text=True
        ).stdout
        runs[side] = json.loads(output.strip().splitlines()[-1])
    floors = {
        key.split(":", 1)[1]: runs[side].pop(key)
        for side in ("ours", "peer")
        for key in list(runs[side])
        if key.startswith("floor:")
    }
    ours_total, peer_total = sum(runs["ours"].values()), sum(runs["peer"].values())
    lines = [
        f"\n## Phone setup against a peer (SQLite, {platform.machine()}, median of "
        f"{ROUNDS - WARMUP} setups)\n",
        "| step (here / the peer) | this site | django-two-factor-auth |",
        "|---|---|---|",
    ]
    for (mine, ms), (theirs, peer_ms) in zip(
        runs["ours"].items(), runs["peer"].items(), strict=True
    ):
        lines.append(f"| {mine} / {theirs} | {ms:.1f} ms | {peer_ms:.1f} ms |")
    lines.append(f"| **whole setup** | **{ours_total:.1f} ms** | **{peer_total:.1f} ms** |")
    lines.append(
        f"\nRatio: this site takes {ours_total / peer_total:.2f}x the peer's time "
        "(target: at most 0.7x)."
    )
    bare = floors.pop("a bare view")
    lines += [
        "\n### Against a bare view in a default project (same Django, same run)\n",
        "| page | median | times the bare view |",
        "|---|---|---|",
        f"| a bare view (default project) | {bare:.2f} ms | 1.00x |",
    ]
    for label, ms in floors.items():
        lines.append(f"| {label} | {ms:.2f} ms | {ms / bare:.2f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(ours() if sys.argv[1] == "ours" else peer()))
    else:
        print(table())
