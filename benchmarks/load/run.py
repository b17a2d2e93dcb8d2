"""`make load`: the site under simulated people, on the production stack.

Inside scripts/with-services.sh (a throw-away PostgreSQL and Redis on loopback): `make serve`
(gunicorn, the message worker) with codes going to files; 200 people register and 50 reset at
once (benchmarks/load/locustfile.py); then the throughput of the reset portal's first page and,
on the same gunicorn settings, of a bare view in a default project. Results and a latency chart
go to docs/load.md and docs/load-latency.svg.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var" / "load"
LOCUST = ROOT / "var" / "load-venv" / "bin" / "locust"
PYTHON = ROOT / ".venv" / "bin" / "python"
REGISTERERS = int(os.environ.get("LOAD_REGISTERERS", "200"))
RESETTERS = int(os.environ.get("LOAD_RESETTERS", "50"))
WORKERS = os.environ.get("WORKERS", "3")
SCENARIO_SECONDS = int(os.environ.get("LOAD_SECONDS", "240"))
ARRIVALS_PER_SECOND = int(os.environ.get("LOAD_ARRIVALS", "5"))
READ_SECONDS = int(os.environ.get("LOAD_READ_SECONDS", "30"))
READERS = 20
PASSWORD = "Load-test-passphrase-2026"
CLUSTER_MARK = "<!-- cluster: from scripts/cluster_people.py, kept by make load -->"


def say(text: str) -> None:
    print(f"[load] {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def site_env(port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_BEHIND_PROXY="1",
        DJANGO_STATIC_ROOT=str(VAR / "static"),
        SSPR_TRUSTED_PROXIES="127.0.0.1",
        SSPR_VAR_DIR=str(VAR / "var"),
        SSPR_PHONE_BACKEND="file",
        SSPR_PHONE_FILE_PATH=str(VAR / "phone"),
        SSPR_EMAIL_BACKEND="file",
        SSPR_EMAIL_FILE_PATH=str(VAR / "mail"),
        SSPR_SITE_URL=f"https://localhost:{port}",  # by name: sspr.W020 refuses an IP
        WORKERS=WORKERS,
        HOST="127.0.0.1",
        PORT=str(port),
    )
    return env


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def locust(locustfile: str, host: str, users: int, rate: int, seconds: int, name: str, env=None):
    command = [
        str(LOCUST),
        "-f",
        f"benchmarks/load/{locustfile}",
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(rate),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "30",
        "--host",
        host,
        "--csv",
        str(VAR / name),
        "--csv-full-history",
        "--only-summary",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, check=True)  # noqa: S603
    with (VAR / f"{name}_stats.csv").open() as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    return rows


def django_shell(env: dict, code: str) -> str:
    """The last line `code` prints, run in the site's own settings."""
    out = subprocess.run(  # noqa: S603
        [str(PYTHON), "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def registered_count(env: dict) -> int:
    code = (
        "from registration.models import Registration;"
        "print(Registration.objects.filter(user__username__startswith='load',"
        " completed_at__isnull=False).count())"
    )
    return int(django_shell(env, code))


def argon2_seconds(env: dict) -> float:
    """One password or answer hash with the site's Argon2 settings, on this machine."""
    code = (
        "import time;from django.contrib.auth.hashers import make_password;"
        "make_password('warm');t=time.perf_counter();"
        "[make_password('load-test-answer') for _ in range(5)];"
        "print((time.perf_counter()-t)/5)"
    )
    return float(django_shell(env, code))


def chart(history: Path, target: Path) -> None:
    """p50, p95 and p99 of every request over the run, as an SVG line chart."""
    points = []
    with history.open() as f:
        for row in csv.DictReader(f):
            if row["Name"] != "Aggregated" or row["50%"] in ("N/A", "0", ""):
                continue
            points.append((int(row["Timestamp"]), *(float(row[p]) for p in ("50%", "95%", "99%"))))
    if not points:
        return
    t0 = points[0][0]
    width, height, left, bottom = 640, 280, 56, 36
    span = max(points[-1][0] - t0, 1)
    top_value = max(max(p[1:]) for p in points) * 1.1

    def xy(t, v):
        x = left + (t - t0) / span * (width - left - 12)
        y = height - bottom - v / top_value * (height - bottom - 12)
        return f"{x:.1f},{y:.1f}"

    lines = []
    for index, (label, colour) in enumerate(
        (("p50", "#0b5cad"), ("p95", "#b35c00"), ("p99", "#a4262c")), start=1
    ):
        path = " ".join(xy(p[0], p[index]) for p in points)
        lines.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
            f'<text x="{width - 60}" y="{14 + 16 * index}" fill="{colour}">{label}</text>'
        )
    ticks = "".join(
        f'<text x="{left - 6}" y="{height - bottom - f * (height - bottom - 12) + 4:.1f}" '
        f'text-anchor="end">{top_value * f:.0f}</text>'
        for f in (0, 0.5, 1)
    )
    target.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="12" role="img" '
        'aria-labelledby="t"><title id="t">Latency of every request during the run, in '
        "milliseconds (p50, p95, p99)</title>"
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 12}" y2="{height - bottom}" '
        'stroke="#555"/>'
        f'<line x1="{left}" y1="12" x2="{left}" y2="{height - bottom}" stroke="#555"/>'
        f"{ticks}"
        f'<text x="{left}" y="{height - 10}">0 s</text>'
        f'<text x="{width - 12}" y="{height - 10}" text-anchor="end">{span} s</text>'
        f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})">ms</text>'
        f"{''.join(lines)}</svg>\n"
    )


def main() -> None:
    if not LOCUST.exists():
        raise SystemExit("Locust is not installed: run `make load`.")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Run inside scripts/with-services.sh (PostgreSQL and Redis).")
    shutil.rmtree(VAR, ignore_errors=True)
    for folder in ("phone", "mail", "var", "static"):
        (VAR / folder).mkdir(parents=True)
    port = free_port()
    env = site_env(port)
    host = f"http://127.0.0.1:{port}"
    say("migrating and making the people…")
    subprocess.run([str(PYTHON), "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        [str(PYTHON), "benchmarks/load/people.py", str(REGISTERERS + RESETTERS), PASSWORD],
        cwd=ROOT,
        env=env,
        check=True,
    )
    say(f"make serve on {host} ({WORKERS} workers, the message worker, PostgreSQL, Redis)…")
    site = start(["make", "--no-print-directory", "serve"], env, VAR / "serve.log")
    try:
        wait_for(f"{host}/healthz")
        say(
            f"{REGISTERERS} people register and {RESETTERS} reset, "
            f"for at most {SCENARIO_SECONDS} s…"
        )
        people_env = {
            "LOAD_PHONE_DIR": str(VAR / "phone"),
            "LOAD_MAIL_DIR": str(VAR / "mail"),
            "LOAD_PASSWORD": PASSWORD,
            "LOAD_REGISTERERS": str(REGISTERERS),
            "LOAD_RESETTERS": str(RESETTERS),
            "LOAD_RESULT": str(VAR / "finished.json"),
        }
        users = REGISTERERS + RESETTERS
        scenario = locust(
            "locustfile.py", host, users, 25, SCENARIO_SECONDS, "scenario", people_env
        )
        finished = json.loads((VAR / "finished.json").read_text())
        recorded = registered_count(env)
        say(f"reading the reset portal's first page for {READ_SECONDS} s…")
        portal = locust(
            "readers.py",
            host,
            READERS,
            READERS,
            READ_SECONDS,
            "portal",
            {"LOAD_PATH": "/passwordreset/"},
        )
    finally:
        stop(site)
    bare_port = free_port()
    say(f"reading a bare view on the same gunicorn for {READ_SECONDS} s…")
    bare_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "PYTHONPATH": str(ROOT / "benchmarks"),
    }
    bare_site = start(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "peer.bare_wsgi",
            "--bind",
            f"127.0.0.1:{bare_port}",
            "--workers",
            WORKERS,
            "--access-logfile",
            "-",
        ],
        bare_env,
        VAR / "bare.log",
    )
    try:
        wait_for(f"http://127.0.0.1:{bare_port}/")
        bare = locust(
            "readers.py",
            f"http://127.0.0.1:{bare_port}",
            READERS,
            READERS,
            READ_SECONDS,
            "bare",
            {"LOAD_PATH": "/"},
        )
    finally:
        stop(bare_site)
    chart(VAR / "scenario_stats_history.csv", ROOT / "docs" / "load-latency.svg")
    report(scenario, finished, recorded, portal, bare, argon2_seconds(env))


def report(scenario, finished, recorded, portal, bare, argon2: float) -> None:
    total = scenario["Aggregated"]
    portal_rps = float(portal["Aggregated"]["Requests/s"])
    bare_rps = float(bare["Aggregated"]["Requests/s"])
    slowest = sorted(
        (row for name, row in scenario.items() if name != "Aggregated"),
        key=lambda row: float(row["95%"]),
        reverse=True,
    )[:6]
    lines = [
        "# Under load",
        "",
        "Written by `make load` (benchmarks/load/run.py); do not edit by hand.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. `make serve` "
        f"with {WORKERS} gunicorn workers and the message worker, PostgreSQL and Redis on "
        "loopback, Locust on the same machine (it takes its own share of the cores).",
        "",
        "## Registering and resetting at once",
        "",
        f"{REGISTERERS} simulated people sign in and register (authentication phone with a "
        "text, authentication email, three security questions, Finish) while "
        f"{RESETTERS} others reset their password with their phone (proof-of-work check, "
        f"code, new password), {ARRIVALS_PER_SECOND} new people a second until all have come. "
        "Each comes from its own address through the proxy headers and waits up to a minute "
        "for a code.",
        "",
        "| what | figure |",
        "|---|---|",
        f"| requests | {total['Request Count']} |",
        f"| errors (answers a person would not expect) | {total['Failure Count']} |",
        f"| people who gave up (a code that never came) | {finished['gave_up']} |",
        f"| requests per second (whole run) | {float(total['Requests/s']):.1f} |",
        f"| latency p50 / p95 / p99 | {total['50%']} / {total['95%']} / {total['99%']} ms |",
        f"| people who pressed Finish | {finished['registered']} |",
        f"| registrations recorded | {recorded} |",
        f"| resets that succeeded | {finished['reset']} of {RESETTERS} |",
        "",
        "![Latency of every request over the run: p50, p95, p99](load-latency.svg)",
        "",
        f"Where the time goes: one Argon2 hash (a password checked at sign-in, each security "
        f"answer, a new password) takes {argon2 * 1000:.0f} ms of one core here. A "
        f"registration costs four (sign-in and three answers) and a reset one, so this run "
        f"needs about {(REGISTERERS * 4 + RESETTERS) * argon2:.0f} core-seconds of hashing "
        "alone, on two cores shared with PostgreSQL, Redis, the message worker and Locust: "
        "the queue behind the hashes is the latency above. It is the cost of storing "
        "passwords and answers safely (docs/security.md §18); more cores shorten it in "
        "proportion.",
        "",
        "Slowest steps (p95):",
        "",
        "| step | requests | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|",
        *[
            f"| {row['Type']} {row['Name']} | {row['Request Count']} | {row['50%']} | "
            f"{row['95%']} | {row['99%']} |"
            for row in slowest
        ],
        "",
        "## The reset portal's first page against a bare view",
        "",
        f"{READERS} readers with no pause, {READ_SECONDS} s each, the same gunicorn settings "
        f"({WORKERS} workers).",
        "",
        "| page | requests per second | p50 ms | p95 ms |",
        "|---|---|---|---|",
        f"| /passwordreset/ | {portal_rps:.0f} | {portal['Aggregated']['50%']} | "
        f"{portal['Aggregated']['95%']} |",
        f"| a bare view in a default project | {bare_rps:.0f} | {bare['Aggregated']['50%']} | "
        f"{bare['Aggregated']['95%']} |",
        "",
        f"Ratio: **{portal_rps / bare_rps:.2f}x** the bare view's requests per second "
        "(target: at least 0.7x).",
        "",
    ]
    for name, run in (("the portal", portal), ("the bare view", bare)):
        if int(run["Aggregated"]["Failure Count"]):
            # A page that failed is not read: the ratio would be of errors (readers.py).
            sys.exit(f"{run['Aggregated']['Failure Count']} failed reads of {name}: not written")
    text = "\n".join(lines)
    target = ROOT / "docs" / "load.md"
    # The cluster's section (scripts/cluster_people.py) follows its marker and is kept.
    old = target.read_text() if target.exists() else ""
    kept = old[old.index(CLUSTER_MARK) :] if CLUSTER_MARK in old else ""
    target.write_text(text + ("\n" + kept if kept else ""))
    print(text)


if __name__ == "__main__":
    main()
