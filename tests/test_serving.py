"""`make serve`: gunicorn, whitenoise and the production settings, over real HTTP."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_BEHIND_PROXY": "1",
        "DJANGO_STATIC_ROOT": str(tmp / "static"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "SSPR_VAR_DIR": str(tmp / "var"),
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)
    log = open(tmp / "serve.log", "w")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        ["make", "--no-print-directory", "serve", "HOST=127.0.0.1", f"PORT={port}", "WORKERS=1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    if not wait_until_healthy(base, process, seconds=120):
        os.killpg(process.pid, signal.SIGTERM)
        raise AssertionError((tmp / "serve.log").read_text())
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    log.close()


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
