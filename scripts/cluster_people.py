"""People registering and resetting through the cluster's balancer (scripts/cluster.py).

The same steps as `make load`'s people (benchmarks/load/locustfile.py), with plain `requests` so
the cluster test runs in the site's own environment: each person comes from an address of their
own (X-Forwarded-For), reads codes from the file backends as from a phone, and does what a
person does when a page says the service is temporarily unavailable: waits a second and sends
the step again. Every answer is kept, so a test can say that none was a 500 or a traceback.

`python scripts/cluster_people.py` is the sizing run of docs/load.md: it starts a cluster,
measures what a reset and a registration cost (CPU of the hosts and workers, database writes,
Redis commands, memory per worker), each person opening every page on the way as a browser
does, after SIZING_WARMUP people (20) have reset and registered uncounted, and prints the table.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookiejar import Cookie
from pathlib import Path

import requests
from requests.cookies import RequestsCookieJar

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Cluster-test-passphrase-2026"
UNAVAILABLE = "Temporarily unavailable"
RETRY_STATUSES = {502, 503, 504}


class ProxiedJar(RequestsCookieJar):
    """The balancer stands in for TLS: the site's secure cookies come back over its HTTP."""

    def set_cookie(self, cookie: Cookie, *args, **kwargs):
        cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


class GaveUp(Exception):
    """A step never answered as a person expects."""


@dataclass
class Answers:
    """Every answer seen, by status; the pages that were neither expected nor an outage page."""

    statuses: Counter = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, response: requests.Response, name: str) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            text = response.text
            if response.status_code >= 500 and UNAVAILABLE not in text:
                self.bad.append(f"{name}: {response.status_code} without the unavailable page")
            if response.status_code == 500 or "Traceback" in text:
                self.bad.append(f"{name}: {response.status_code} {text[:200]!r}")


def phone_of(n: int) -> str:
    return f"+4474009{n:05d}"


class Person:
    """One person. With `pages`, also every page a browser opens on the way: the one a step's
    redirect leads to, and each form's page before it is sent (the sizing run); without, the
    steps alone (the cluster test)."""

    def __init__(
        self,
        base: str,
        n: int,
        phone_dir: Path,
        mail_dir: Path,
        answers: Answers,
        *,
        pages: bool = False,
    ):
        self.base, self.n = base, n
        self.pages = pages
        self.netloc = base.split("://", 1)[1]
        self.phone_dir, self.mail_dir = phone_dir, mail_dir
        self.answers = answers
        self.session = requests.Session()
        self.session.cookies = ProxiedJar()
        self.session.headers["X-Forwarded-For"] = f"10.{n // 250}.{n % 250}.7"
        self.clicks: Counter = Counter()
        self.pressed_finish = False
        self.done = False
        self.retried = False
        self.gave_up = ""

    def go(self, method: str, path: str, data: dict | None = None, tries: int = 40):
        """One step; a connection refused or an outage page is waited out and sent again."""
        self.retried = False
        for _ in range(tries):
            if data is not None:
                self.clicks[path] += 1
                data = {**data, "csrfmiddlewaretoken": self.session.cookies.get("csrftoken", "")}
            try:
                response = self.session.request(
                    method,
                    self.base + path,
                    data=data,
                    allow_redirects=False,
                    timeout=90,
                    headers={"Referer": f"https://{self.netloc}{path}"} if data is not None else {},
                )
            except requests.RequestException:
                self.retried = data is not None
                time.sleep(1)
                continue
            self.answers.note(response, path)
            if response.status_code in RETRY_STATUSES:
                # A host that died mid-request may have done the step: sent again, it can
                # answer differently (the next steps tell whether it was done).
                self.retried = self.retried or (data is not None and response.status_code == 502)
                time.sleep(1)
                continue
            return response
        raise GaveUp(path)

    def expect(
        self, response, status: int = 302, location: str | None = None, shows: str | None = None
    ):
        """`status`; for a redirect, to `location`; for a page that came in the answer to a
        form, the page at `shows` (which names its own address), not the form's page again."""
        if self.retried:
            return response
        if (
            response.status_code != status
            or (location and not response.headers.get("Location", "").endswith(location))
            or (shows and f'data-page-address="{shows}"' not in response.text)
        ):
            raise GaveUp(f"{response.request.path_url}: {response.status_code}")
        if status == 302:
            self.follow(response)
        return response

    def look(self, path: str) -> None:
        """Open a page as a browser does before sending its form (with `pages`)."""
        if self.pages:
            self.go("GET", path)

    def follow(self, response) -> None:
        """Open the page a redirect leads to, and any it leads on to (with `pages`)."""
        for _ in range(5):
            if not self.pages or response.status_code != 302:
                return
            location = response.headers.get("Location", "")
            path = location.split(self.netloc, 1)[-1] if "://" in location else location
            response = self.go("GET", path)

    def code(self, kind: str, to: str, after: float, wait: float = 40) -> str | None:
        deadline = time.time() + wait
        while time.time() < deadline:
            if kind == "phone":
                for path in sorted(self.phone_dir.glob("*.json"), reverse=True):
                    message = json.loads(path.read_text())
                    if message["to"] == to and path.stat().st_mtime >= after:
                        return re.search(r"\b(\d{6})\b", message["text"]).group(1)
            else:
                for path in self.mail_dir.glob("*.log"):
                    if path.stat().st_mtime < after:
                        continue
                    for message in path.read_text().split("-" * 79):
                        if f"To: {to}" in message:
                            return re.findall(r"\b(\d{6})\b", message)[-1]
            time.sleep(0.2)
        return None

    def send_and_read(self, path: str, data: dict, kind: str, to: str) -> str:
        """Ask for a code until one comes (a code whose message was lost is asked for again)."""
        for _ in range(3):
            sent = time.time() - 1
            response = self.go("POST", path, data)
            if response.status_code not in (200, 302, 429):
                raise GaveUp(path)
            self.follow(response)
            code = self.code(kind, to, sent)
            if code:
                return code
        raise GaveUp(f"{path}: no code")

    def register(self) -> None:
        name = f"load{self.n:05d}"
        self.go("GET", "/ssprsetup/signin/")
        self.expect(self.go("POST", "/ssprsetup/signin/", {"username": name, "password": PASSWORD}))
        number = phone_of(self.n)
        local = {"region": "GB", "number": "0" + number[3:], "channel": "sms"}
        self.look("/ssprsetup/phone/")
        code = self.send_and_read("/ssprsetup/phone/", local, "phone", number)
        self.expect(self.go("POST", "/ssprsetup/phone/verify/", {"code": code}), 302, "/ssprsetup/")
        address = f"{name}.home@example.net"
        self.look("/ssprsetup/email/")
        code = self.send_and_read("/ssprsetup/email/", {"email": address}, "mail", address)
        self.expect(self.go("POST", "/ssprsetup/email/verify/", {"code": code}), 302, "/ssprsetup/")
        page = self.go("GET", "/ssprsetup/questions/").text
        ids = sorted(set(re.findall(r'<option value="(\d+)"', page)))[:3]
        answers = {}
        for index, question in enumerate(ids, start=1):
            answers[f"question_{index}"] = question
            answers[f"answer_{index}"] = f"answer {index} for {name}"
        self.expect(self.go("POST", "/ssprsetup/questions/", answers), 302, "/ssprsetup/")
        self.pressed_finish = True
        self.expect(self.go("POST", "/ssprsetup/finish/", {}))
        self.done = True

    def reset(self) -> None:
        sys.path.insert(0, str(ROOT))
        import altcha

        name = f"ready{self.n:05d}"
        self.go("GET", "/passwordreset/")
        challenge = altcha.Challenge.from_dict(self.go("GET", "/passwordreset/check/").json())
        solution = altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()
        # The methods page comes in the answer to the first page.
        self.expect(
            self.go(
                "POST",
                "/passwordreset/",
                {"username": name, "action": "reset", "altcha": solution},
            ),
            200,
            shows="/passwordreset/methods/",
        )
        number = f"+4474008{self.n:05d}"
        # The phone's card on the methods page asks for the number (passwordreset/views.py).
        code = self.send_and_read(
            "/passwordreset/phone/", {"number": number, "channel": "sms"}, "phone", number
        )
        # The new password's page comes in the answer to the right code.
        self.expect(self.go("POST", "/passwordreset/phone/code/", {"code": code}), 200)
        new = f"Cluster-{self.n}-lantern-copper-2027"
        self.pressed_finish = True
        # The done page comes in the answer.
        self.expect(
            self.go("POST", "/passwordreset/finish/", {"new_password1": new, "new_password2": new}),
            200,
            shows="/passwordreset/done/",
        )
        self.done = True


def make_people(env: dict, count: int) -> None:
    """`load00000`… to register and `ready00000`… with a phone, to reset (people.py)."""
    import subprocess

    subprocess.run(  # noqa: S603
        [str(ROOT / ".venv/bin/python"), "benchmarks/load/people.py", str(count), PASSWORD],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def run_people(
    cluster,
    kind: str,
    numbers,
    *,
    threads: int = 4,
    answers: Answers | None = None,
    pages: bool = False,
):
    """Each of `numbers` registers (kind="register") or resets; returns the people and answers.
    With `pages`, each opens every page on the way as a browser does (Person)."""
    answers = answers or Answers()
    people = [
        Person(cluster.url, n, cluster.phone_dir, cluster.mail_dir, answers, pages=pages)
        for n in numbers
    ]

    def one(person: Person) -> None:
        try:
            getattr(person, kind)()
        except GaveUp as step:
            person.gave_up = str(step)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, people))
    return people, answers


# --- The sizing run -------------------------------------------------------------------------------


def _own_bytes(pid: str) -> int:
    """Memory only this process holds (private pages, clean or dirty): what it adds to the host
    beyond the pages it shares with its master and siblings, which its resident size counts."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return sum(
        int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Private_")
    )


def _proc_stats(pgids: set[int]) -> tuple[float, list[int], list[int]]:
    """CPU seconds, resident bytes and own bytes of every process in these process groups. A
    process's CPU includes what its ended children used (a worker's forked job, once waited
    for)."""
    ticks = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    cpu, rss, own = 0.0, [], []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pgids:
            cpu += sum(int(value) for value in fields[11:15]) / ticks
            rss.append(int(fields[21]) * page)
            own.append(_own_bytes(stat.parent.name))
    return cpu, rss, own


def _pg_writes(cluster) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(cluster.env()["DATABASE_URL"]) as db:
        row = db.execute(
            "SELECT sum(xact_commit), sum(tup_inserted + tup_updated + tup_deleted)"
            " FROM pg_stat_database WHERE datname = 'sspr'"
        ).fetchone()
    return int(row[0]), int(row[1])


def _redis_commands(cluster) -> int:
    import redis

    return int(redis.Redis(port=cluster.redis_port).info("stats")["total_commands_processed"])


def _redis_by_command(cluster) -> Counter:
    import redis

    stats = redis.Redis(port=cluster.redis_port).info("commandstats")
    return Counter(
        {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}
    )


def _groups(cluster) -> tuple[set[int], set[int]]:
    """The process groups of the web hosts and of the message workers."""
    return {p.pid for p in cluster.hosts.values()}, {p.pid for p in cluster.workers}


def _sample(cluster, groups) -> dict:
    web, workers = groups
    web_cpu, web_rss, web_own = _proc_stats(web)
    worker_cpu, worker_rss, worker_own = _proc_stats(workers)
    commits, rows = _pg_writes(cluster)
    return {
        "at": time.monotonic(),
        "cpu": web_cpu + worker_cpu,
        "web_cpu": web_cpu,
        "worker_cpu": worker_cpu,
        "rss": web_rss + worker_rss,
        "own": web_own + worker_own,
        "commits": commits,
        "rows": rows,
        "redis": _redis_commands(cluster),
    }


def _diff(before: dict, after: dict) -> dict:
    return {key: after[key] - before[key] for key in KEYS}


KEYS = ("at", "cpu", "web_cpu", "worker_cpu", "commits", "rows", "redis")


def idle_rates(cluster, seconds: float = 15) -> dict:
    """What the cluster does with nobody on it (haproxy's checks, the workers' heartbeats), per
    second: taken off the figures below, which are then the people's own."""
    groups = _groups(cluster)
    before = _sample(cluster, groups)
    time.sleep(seconds)
    idle = _diff(before, _sample(cluster, groups))
    return {key: value / idle["at"] for key, value in idle.items()}


def _log_ends(cluster) -> dict[Path, int]:
    return {path: path.stat().st_size for path in cluster.dir.glob("web-*.log")}


def cpu_by_page(cluster, since: dict[Path, int], done: int) -> dict[str, float]:
    """Milliseconds of processor time a person's requests took, page by page (each request's
    log line says it: sspr_site/request_log.py), from the web hosts' logs since `since`."""
    spent: Counter = Counter()
    for path, start in since.items():
        with path.open("rb") as log:
            log.seek(start)
            for line in log:
                if not line.startswith(b"{"):
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("message") == "request" and "cpu_ms" in record:
                    spent[f"{record['method']} {record['view']}"] += record["cpu_ms"]
    done = max(done, 1)
    return {
        "all": round(sum(spent.values()) / done, 1),
        **{page: round(ms / done, 1) for page, ms in spent.most_common()},
    }


def measure(cluster, kind: str, numbers, threads: int, idle: dict) -> dict:
    groups = _groups(cluster)
    logs = _log_ends(cluster)
    before = _sample(cluster, groups)
    commands_before = _redis_by_command(cluster)
    # SIZING_PAGES=0: the steps alone, as the runs before 2026-12-04 evening measured them.
    pages = os.environ.get("SIZING_PAGES", "1") != "0"
    people, answers = run_people(cluster, kind, numbers, threads=threads, pages=pages)
    time.sleep(2)  # the last messages leave
    after = _sample(cluster, groups)
    commands = _redis_by_command(cluster) - commands_before
    used = _diff(before, after)
    net = {key: used[key] - idle[key] * used["at"] for key in KEYS[1:]}
    done = sum(p.done for p in people)
    requests_made = sum(answers.statuses.values())
    return {
        "kind": kind,
        "done": done,
        "wall_seconds": round(used["at"], 1),
        "cpu_seconds": round(net["cpu"], 2),
        "per_core_second": round(done / net["cpu"], 2),
        "core_seconds_each": round(net["cpu"] / done, 3),
        "web_core_seconds_each": round(net["web_cpu"] / done, 3),
        "worker_core_seconds_each": round(net["worker_cpu"] / done, 3),
        "commits_each": round(net["commits"] / done, 1),
        "rows_written_each": round(net["rows"] / done, 1),
        "requests_each": round(requests_made / done, 1),
        "redis_commands_per_request": round(net["redis"] / requests_made, 1),
        # Each command's count a person, idle ones included (the workers' heartbeats).
        "redis_commands_each": {
            name: round(calls / done, 1) for name, calls in commands.most_common()
        },
        # What the web hosts' own requests took, page by page, without gunicorn's work around
        # them, the health checks or the worker.
        "request_cpu_ms_each": cpu_by_page(cluster, logs, done),
        "rss_mb": [round(r / 2**20) for r in sorted(after["rss"])],
        "own_mb": [round(r / 2**20) for r in sorted(after["own"])],
    }


def main() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from cluster import Cluster

    count = int(os.environ.get("SIZING_PEOPLE", "40"))
    threads = int(os.environ.get("SIZING_THREADS", "6"))
    # People who reset and register before the measured ones, not counted: a worker's first
    # requests pay once for what it then keeps (its database connection and the plans of its
    # prepared statements, the one-row queries' SQL, the first use of each page), and a serving
    # site's capacity is what a reset costs after that (docs/load.md, "Sizing").
    warmup = int(os.environ.get("SIZING_WARMUP", "20"))
    pages = os.environ.get("SIZING_PAGES", "1") != "0"
    # One kind alone (SIZING_KINDS=reset or register), to compare two versions in less time.
    kinds = [k for k in os.environ.get("SIZING_KINDS", "reset,register").split(",") if k]
    with Cluster() as cluster:
        make_people(cluster.env(), count + warmup)
        for kind in kinds:
            run_people(cluster, kind, range(count, count + warmup), threads=threads, pages=pages)
        idle = idle_rates(cluster)
        results = [
            {"idle_per_second": {key: round(value, 2) for key, value in idle.items()}},
            *(measure(cluster, kind, range(count), threads, idle) for kind in kinds),
        ]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
