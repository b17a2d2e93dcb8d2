"""Several hosts behind haproxy, for real (scripts/cluster.py; README, "Several hosts").

Three gunicorn hosts on 127.0.0.2-4, two RQ workers, one PostgreSQL, one Redis and haproxy,
all started for this module and stopped afterwards whatever happens. People register and reset
through the balancer while a host is killed with SIGKILL and started again, Redis is restarted
and PostgreSQL is restarted (fast shutdown). Run by the services pass of `make test` (marked
postgres and redis); in CI a missing haproxy fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from cluster import CHECK_FALL, CHECK_INTERVAL_MS, CHECK_RISE, HOSTS, Cluster  # noqa: E402
from cluster_people import (  # noqa: E402
    PASSWORD,
    UNAVAILABLE,
    Answers,
    Person,
    make_people,
    run_people,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REGISTERERS = 10
RESETTERS = 8
PEOPLE = 16
# haproxy takes a host out after CHECK_FALL failed checks CHECK_INTERVAL_MS apart; the slack
# covers a check already under way and the check's own timeout.
TAKEN_OUT_WITHIN = CHECK_FALL * CHECK_INTERVAL_MS / 1000 + 3
BACK_WITHIN = CHECK_RISE * CHECK_INTERVAL_MS / 1000 + 15


def _missing() -> str | None:
    if not shutil.which("haproxy") and not Path("/usr/sbin/haproxy").exists():
        return "haproxy"
    if not list(Path("/usr/lib/postgresql").glob("*/bin")) or not shutil.which("redis-server"):
        return "postgresql or redis-server"
    return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} is not installed (.ci/run installs it)")
        pytest.skip(f"{missing} is not installed")
    # Low per-address sign-in limit, so that one address's tries across hosts are countable.
    with Cluster(tmp_path_factory.mktemp("cluster"), SSPR_SIGN_IN_FAILURES_PER_IP="6") as running:
        make_people(running.env(), PEOPLE)
        yield running


def db(cluster, sql: str, *params):
    import psycopg

    with psycopg.connect(cluster.env()["DATABASE_URL"]) as connection:
        return connection.execute(sql, params).fetchall()


def events(cluster, kind: str, prefix: str) -> Counter:
    rows = db(
        cluster,
        "SELECT u.username, count(*) FROM audit_event e JOIN auth_user u ON u.id = e.subject_id"
        " WHERE e.kind = %s AND u.username LIKE %s GROUP BY u.username",
        kind,
        prefix + "%",
    )
    return Counter(dict(rows))


def all_states(cluster, state: str) -> bool:
    states = cluster.server_states()
    return bool(states) and all(value.startswith(state) for value in states.values())


class Prober(threading.Thread):
    """A person reloading the reset portal's first page through the balancer."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.cluster, self.answers, self.stopped = cluster, Answers(), threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                response = requests.get(f"{self.cluster.url}/passwordreset/", timeout=10)
                self.answers.note(response, "/passwordreset/")
            except requests.RequestException:
                self.answers.bad.append("the balancer did not answer")
            time.sleep(0.2)

    def stop(self) -> Answers:
        self.stopped.set()
        self.join(15)
        return self.answers


def test_people_register_and_reset_while_a_host_is_killed_and_started_again(cluster):
    answers = Answers()
    results = {}

    def crowd(kind, numbers):
        results[kind] = run_people(cluster, kind, numbers, threads=3, answers=answers)[0]

    crowds = [
        threading.Thread(target=crowd, args=("register", range(REGISTERERS))),
        threading.Thread(target=crowd, args=("reset", range(RESETTERS))),
    ]
    for thread in crowds:
        thread.start()
    time.sleep(6)  # mid-run
    cluster.kill_host(HOSTS[0])
    took = cluster.wait_until(lambda: cluster.server_states().get("web1") == "DOWN", 10)
    assert took <= TAKEN_OUT_WITHIN
    time.sleep(2)
    cluster.start_host(HOSTS[0])
    cluster.wait_until(lambda: all_states(cluster, "UP"), 60)
    for thread in crowds:
        thread.join(300)
    registerers, resetters = results["register"], results["reset"]

    # Everybody got through; what anybody saw on the way was a page or the outage page.
    assert [p.gave_up for p in registerers + resetters if not p.done] == []
    assert answers.bad == []
    assert answers.statuses[500] == 0

    # Every person who pressed Finish is recorded once.
    completed = events(cluster, "registration_completed", "load")
    pressed = {f"load{p.n:05d}" for p in registerers if p.pressed_finish}
    assert len(pressed) == REGISTERERS
    assert {name: completed[name] for name in pressed} == dict.fromkeys(pressed, 1)
    rows = db(
        cluster,
        "SELECT count(*) FROM registration_registration r JOIN auth_user u ON u.id = r.user_id"
        " WHERE u.username LIKE 'load%%' AND r.completed_at IS NOT NULL",
    )
    assert rows[0][0] == REGISTERERS

    # No reset completed twice; everyone who pressed Finish has their new password.
    resets = events(cluster, "password_reset", "ready")
    assert resets == Counter({f"ready{p.n:05d}": 1 for p in resetters})

    # No code was sent twice for one click: no more messages to a number than its clicks.
    sent = Counter()
    for path in cluster.phone_dir.glob("*.json"):
        sent[__import__("json").loads(path.read_text())["to"]] += 1
    for person in registerers:
        clicks = person.clicks["/ssprsetup/phone/send/"] + person.clicks["/ssprsetup/phone/"]
        assert 1 <= sent[f"+4474009{person.n:05d}"] <= clicks
    for person in resetters:
        assert 1 <= sent[f"+4474008{person.n:05d}"] <= person.clicks["/passwordreset/phone/"]

    # The counts of every host (those of the killed host's processes too) add up.
    total = 0.0
    for host in HOSTS:
        page = requests.get(f"http://{host}:{cluster.web_port}/metrics", timeout=10).text
        for line in page.splitlines():
            if line.startswith("sspr_registrations_completed_total "):
                total += float(line.split()[1])
    assert total >= REGISTERERS


def test_a_session_survives_the_death_of_the_host_that_served_it(cluster):
    person = Person(cluster.url, 12, cluster.phone_dir, cluster.mail_dir, Answers())
    person.go("GET", "/ssprsetup/signin/")
    response = person.go(
        "POST", "/ssprsetup/signin/", {"username": "load00012", "password": PASSWORD}
    )
    assert response.status_code == 302
    response = person.go("GET", "/ssprsetup/")
    assert response.status_code == 200
    served_by = response.headers["X-Served-By"]
    host = HOSTS[int(served_by[3:]) - 1]
    cluster.kill_host(host)
    try:
        # The next requests land elsewhere and go on signed in, without signing in again.
        for _ in range(3):
            response = person.go("GET", "/ssprsetup/")
            assert response.status_code == 200
            assert response.headers["X-Served-By"] != served_by
            assert 'name="password"' not in response.text
    finally:
        cluster.start_host(host)
        # The host loads the site before it listens: haproxy may not have seen it down yet.
        cluster.wait_until(lambda: cluster.readyz(host) == 200, 60)
        cluster.wait_until(lambda: all_states(cluster, "UP"), 60)
    assert person.answers.bad == []


def test_per_account_and_per_address_limits_hold_across_hosts(cluster):
    # Per account: five wrong passwords, each from another address, land on every host; the
    # right password is then refused, as on one host.
    hosts_seen = set()
    for attempt in range(5):
        person = Person(cluster.url, 100 + attempt, cluster.phone_dir, cluster.mail_dir, Answers())
        person.go("GET", "/ssprsetup/signin/")
        response = person.go(
            "POST", "/ssprsetup/signin/", {"username": "load00013", "password": "wrong-guess"}
        )
        # Refused on the page; the fifth failure reaches the limit and says so (429).
        assert response.status_code == (429 if attempt == 4 else 200)
        hosts_seen.add(response.headers["X-Served-By"])
    assert len(hosts_seen) == 3
    person = Person(cluster.url, 120, cluster.phone_dir, cluster.mail_dir, Answers())
    person.go("GET", "/ssprsetup/signin/")
    response = person.go(
        "POST", "/ssprsetup/signin/", {"username": "load00013", "password": PASSWORD}
    )
    assert response.status_code == 429

    # Per address: six failures from one address (SSPR_SIGN_IN_FAILURES_PER_IP=6), spread over
    # the hosts; the seventh try from it, even with a right password, is refused.
    person = Person(cluster.url, 140, cluster.phone_dir, cluster.mail_dir, Answers())
    person.go("GET", "/ssprsetup/signin/")
    hosts_seen = set()
    for attempt in range(6):
        response = person.go(
            "POST", "/ssprsetup/signin/", {"username": f"nobody{attempt}", "password": "x"}
        )
        hosts_seen.add(response.headers["X-Served-By"])
    assert len(hosts_seen) == 3
    response = person.go(
        "POST", "/ssprsetup/signin/", {"username": "load00014", "password": PASSWORD}
    )
    assert response.status_code == 429
    # Another address is not affected.
    other = Person(cluster.url, 141, cluster.phone_dir, cluster.mail_dir, Answers())
    other.go("GET", "/ssprsetup/signin/")
    response = other.go(
        "POST", "/ssprsetup/signin/", {"username": "load00014", "password": PASSWORD}
    )
    assert response.status_code == 302


@pytest.mark.parametrize("service", ["redis", "postgresql"])
def test_hosts_leave_while_a_service_is_away_and_come_back_by_themselves(cluster, service):
    prober = Prober(cluster)
    prober.start()
    time.sleep(1)
    stopped = time.monotonic()
    if service == "redis":
        cluster.stop_redis()
    else:
        cluster.stop_postgres("fast")
    try:
        cluster.wait_until(lambda: all_states(cluster, "DOWN"), 15)
        assert time.monotonic() - stopped <= TAKEN_OUT_WITHIN
        assert {cluster.readyz(host) for host in HOSTS} == {503}
        time.sleep(2)  # people keep coming while it is away
        outage = requests.get(f"{cluster.url}/passwordreset/", timeout=10)
        assert outage.status_code == 503 and UNAVAILABLE in outage.text
    finally:
        if service == "redis":
            cluster.start_redis()
        else:
            cluster._start_postgres()
    cluster.wait_until(lambda: all_states(cluster, "UP"), BACK_WITHIN)
    answers = prober.stop()
    assert answers.bad == []
    assert answers.statuses[503] > 0 and answers.statuses[200] > 0

    # After it, a whole reset goes through: the pages, the queue and a worker work again.
    number = 14 if service == "redis" else 15
    [person], after = run_people(cluster, "reset", [number], threads=1)
    assert person.done, person.gave_up
    assert after.bad == []
