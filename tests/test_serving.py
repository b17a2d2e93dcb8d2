"""`make serve`: gunicorn, whitenoise and the production settings, over real HTTP."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parent.parent


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, *, https: bool = True):
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"} if https else {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def wait_until_healthy(base: str, process: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if fetch(f"{base}/healthz")[0] == 200:
                return True
        except OSError:
            pass  # not listening yet
        time.sleep(0.3)
    return False


def production_env(tmp: Path, *, redis: bool = False, **extra: str) -> dict:
    """The environment of a production start on a throw-away SQLite file."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_BEHIND_PROXY": "1",
        "DJANGO_STATIC_ROOT": str(tmp / "static"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "SSPR_VAR_DIR": str(tmp / "var"),
        **extra,
    }
    if not redis:
        env.pop("REDIS_URL", None)
        env.pop("CACHE_URL", None)
    return env


@contextmanager
def make_serve(tmp: Path, env: dict, workers: int):
    """`make serve` in its own process group; yields its base URL once /healthz answers."""
    port = free_port()
    log = open(tmp / "serve.log", "w")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        [
            "make",
            "--no-print-directory",
            "serve",
            "HOST=127.0.0.1",
            f"PORT={port}",
            f"WORKERS={workers}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_healthy(base, process, seconds=120):
            raise AssertionError((tmp / "serve.log").read_text())
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    # The stand-in reverse proxy below connects from 127.0.0.1; clients come from other
    # loopback addresses, as different people behind it would.
    env = production_env(tmp, SSPR_TRUSTED_PROXIES="127.0.0.1", SSPR_SIGN_IN_FAILURES_PER_IP="3")
    with make_serve(tmp, env, workers=1) as base:
        base_db[base] = tmp / "db.sqlite3"
        yield base


base_db: dict = {}


def test_probes_answer_over_plain_http(server):
    # Load balancers poll by plain HTTP: the probes are not redirected to HTTPS.
    status, _headers, body = fetch(f"{server}/healthz", https=False)
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, _headers, body = fetch(f"{server}/readyz", https=False)
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok", "cache": "ok", "queue": "ok"}


def test_pages_carry_the_security_headers(server):
    status, headers, body = fetch(f"{server}/ssprsetup/signin/")
    assert status == 200
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    cookie = headers["Set-Cookie"]
    assert "csrftoken=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "<script>" not in body and " style=" not in body


def test_plain_http_is_sent_to_https(server):
    status, headers, _body = fetch(f"{server}/ssprsetup/signin/", https=False)
    assert status == 301
    assert headers["Location"].startswith("https://")


def test_static_files_are_served_hashed_and_cached(server):
    _status, _headers, body = fetch(f"{server}/ssprsetup/signin/")
    css = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', body).group(1)
    status, headers, content = fetch(f"{server}{css}")
    assert status == 200
    assert "max-age=315360000" in headers["Cache-Control"]
    assert ".skip-link" in content


class SourceAddressHandler(urllib.request.HTTPHandler):
    """Connect from a chosen loopback address: each one is a different person."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def http_open(self, req):
        import http.client

        source = self.source

        class Connection(http.client.HTTPConnection):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, source_address=(source, 0), **kwargs)

        return self.do_open(Connection, req)


def post_sign_in(base: str, source: str, username: str, forged: str | None = None) -> int:
    opener = urllib.request.build_opener(SourceAddressHandler(source), NoRedirect)
    with opener.open(f"{base}/ssprsetup/signin/", timeout=10) as page:
        body = page.read().decode()
        cookies = [v.split(";")[0] for k, v in page.headers.items() if k == "Set-Cookie"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": username, "password": "wrong"}
    ).encode()
    secure = base.replace("http://", "https://")  # the proxy terminates HTTPS
    headers = {"Cookie": "; ".join(cookies), "Referer": f"{secure}/ssprsetup/signin/"}
    if forged:
        headers["X-Forwarded-For"] = forged
    request = urllib.request.Request(f"{base}/ssprsetup/signin/", data=data, headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_behind_a_real_proxy_hop_each_client_has_its_own_limits(server):
    """31 failures from one person used to lock out everyone behind the proxy."""
    import sqlite3

    from tests.support.proxy import start_proxy

    proxy = start_proxy(int(server.rsplit(":", 1)[1]))
    base = f"http://127.0.0.1:{proxy.server_address[1]}"
    try:
        noisy = [post_sign_in(base, "127.0.0.2", f"nobody{i}", forged="9.9.9.9") for i in range(4)]
        assert noisy == [200, 200, 200, 429]
        # Someone else behind the same proxy is not affected, and forging the header
        # (the proxy appends the real address) does not help the noisy one.
        assert post_sign_in(base, "127.0.0.3", "someone") == 200
        assert post_sign_in(base, "127.0.0.2", "again", forged="127.0.0.3") == 429
    finally:
        proxy.shutdown()
    with sqlite3.connect(base_db[server]) as db:
        addresses = {
            row[0] for row in db.execute("SELECT ip FROM audit_event WHERE ip IS NOT NULL")
        }
    assert {"127.0.0.2", "127.0.0.3"} <= addresses
    assert "9.9.9.9" not in addresses


def test_several_workers_on_a_per_process_cache_refuse_to_start(tmp_path):
    env = production_env(tmp_path)
    check = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, "WEB_CONCURRENCY": "3"},
        capture_output=True,
        text=True,
    )
    assert check.returncode != 0 and "sspr.E002" in check.stderr
    # gunicorn asked directly for three workers refuses too, before serving anything.
    gunicorn = subprocess.run(  # noqa: S603
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-c",
            "sspr_site/gunicorn.conf.py",
            "--workers",
            "3",
            "--bind",
            f"127.0.0.1:{free_port()}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gunicorn.returncode != 0
    assert "Refusing to start 3 workers on a per-process cache" in gunicorn.stderr


@pytest.mark.redis
def test_with_redis_make_serve_runs_several_workers_and_the_message_worker(tmp_path):
    import redis
    from rq import Worker

    env = production_env(tmp_path, redis=True)
    assert env.get("REDIS_URL")
    with make_serve(tmp_path, env, workers=2) as base:
        connection = redis.Redis.from_url(env["REDIS_URL"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not Worker.all(connection=connection):
            time.sleep(0.3)
        # Ready once the message worker listens (delivery.checks).
        status, _headers, body = fetch(f"{base}/readyz", https=False)
        assert (status, json.loads(body)["queue"], json.loads(body)["worker"]) == (200, "ok", "ok")
        queues = [queue.name for w in Worker.all(connection=connection) for queue in w.queues]
        assert queues == ["sspr"]
        # The first worker may answer before gunicorn has started the second.
        deadline = time.monotonic() + 20
        while (
            time.monotonic() < deadline
            and (tmp_path / "serve.log").read_text().count("Booting worker") < 2
        ):
            time.sleep(0.2)
        assert (tmp_path / "serve.log").read_text().count("Booting worker") == 2


def test_the_served_log_names_each_request_by_view_and_never_writes_its_path(server):
    # A "That wasn't me" link carries its token in the path; a query string and a referrer may
    # carry others. gunicorn's access log would write all three; the site's line names the view.
    token = "tok" + secrets.token_hex(12)
    request = urllib.request.Request(
        f"{server}/ssprsetup/not-me/{token}/?next=q{token}",
        headers={"X-Forwarded-Proto": "https", "Referer": f"https://mail.example/r{token}"},
    )
    try:
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
    except urllib.error.HTTPError as error:
        assert error.code == 410  # an unknown link: "no longer valid"
    log = base_db[server].with_name("serve.log")
    deadline = time.monotonic() + 5
    while "registration:not_me GET 410" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log.read_text()
    assert "registration:not_me GET 410" in text
    assert [line for line in text.splitlines() if token in line or "/not-me/" in line] == []
