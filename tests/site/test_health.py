"""/healthz (the process answers) and /readyz (its dependencies answer), as probes see them."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
import redis
from django.test import override_settings

from tests.support.redis_server import REDIS_SERVER, redis_server, silent_listener


def redis_cache(url: str, timeout: float = 1.0) -> dict:
    return {
        "default": {
            "BACKEND": "sspr_site.redis_cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
    }


@pytest.mark.django_db
def test_liveness_needs_nothing_but_the_process(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_readiness_names_each_dependency_and_nothing_else(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "queue": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert "Server" not in response and "X-Powered-By" not in response


@pytest.mark.django_db
def test_probes_answer_a_load_balancer_calling_by_address(client, settings):
    # Probes come by IP address and over plain HTTP: no host check, no HTTPS redirect.
    settings.ALLOWED_HOSTS = ["reset.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.1.2.3").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.1.2.3").status_code == 200


@pytest.mark.django_db
def test_probes_take_only_get(client):
    assert client.post("/readyz").status_code == 405
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_concurrent_readiness_checks_do_not_disturb_each_other(client):
    # Many checks at once in one process share the local cache: each uses a key of its own.
    failures = []

    def probe():
        from django.test import Client

        for _ in range(25):
            response = Client().get("/readyz")
            if response.status_code != 200:
                failures.append(response.content)

    threads = [threading.Thread(target=probe) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


needs_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed (apt-get install redis-server)"
)


@needs_redis_server
@pytest.mark.django_db
def test_a_stopped_redis_makes_readiness_fail_fast(client, tmp_path):
    with redis_server(tmp_path) as server, override_settings(CACHES=redis_cache(server.url)):
        assert client.get("/readyz").status_code == 200
        server.terminate()
        server.wait(timeout=10)
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["cache"] == "unavailable" and response.json()["database"] == "ok"
    assert elapsed < 2.5
    # Liveness does not depend on the cache.
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_a_hung_cache_answers_503_within_the_timeout(client):
    with silent_listener() as url, override_settings(CACHES=redis_cache(url, timeout=0.5)):
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["cache"] == "unavailable"
    assert elapsed < 2.0


@pytest.mark.postgres
@pytest.mark.redis
def test_no_false_503_under_concurrent_probes_on_postgresql_and_redis(live_server):
    """16 clients polling /readyz against the real PostgreSQL and Redis: every answer is 200."""
    answers: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 8

    def poll():
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{live_server.url}/readyz", timeout=10) as response:
                    code = response.status
                    body = json.loads(response.read())
            except urllib.error.HTTPError as error:
                code, body = error.code, error.read()
            with lock:
                answers.append(code if code == 200 else (code, body))

    threads = [threading.Thread(target=poll) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) > 500
    assert [answer for answer in answers if answer != 200] == []


@pytest.mark.django_db
def test_a_part_that_is_not_ready_is_named_with_its_reason(client, monkeypatch):
    from sspr_site import health

    monkeypatch.setitem(health.CHECKS, "example", lambda: {"part": "ok", "other": "too slow"})
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["example"], body["part"], body["other"]) == (
        "unavailable",
        "ok",
        "ok",
        "too slow",
    )


@needs_redis_server
@pytest.mark.django_db
def test_with_the_queue_a_stopped_redis_fails_fast_and_names_the_queue(client, tmp_path, settings):
    # The worker and backlog checks need the queue's Redis; without it they are not tried.
    settings.SSPR_DELIVERY = "queue"
    with redis_server(tmp_path) as server:
        settings.RQ_QUEUES = {"sspr": {"URL": server.url}}
        server.terminate()
        server.wait(timeout=10)
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["queue"] == "unavailable" and "worker" not in body and "backlog" not in body
    assert elapsed < 2.5


@needs_redis_server
@pytest.mark.django_db
def test_with_the_queue_and_no_worker_readiness_fails(client, tmp_path, settings):
    settings.SSPR_DELIVERY = "queue"
    with redis_server(tmp_path) as server:
        settings.RQ_QUEUES = {"sspr": {"URL": server.url}}
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert (body["queue"], body["worker"], body["backlog"]) == ("ok", "no live worker", "ok")


@needs_redis_server
@pytest.mark.django_db
def test_queue_probes_share_one_connection_and_find_redis_again(client, tmp_path, settings):
    """haproxy probes every few seconds: each probe goes over the process's one probe client
    (delivery/checks.py), not a new connection with its handshake; a Redis that went away and
    came back is found again by the next probe, without restarting the site."""
    settings.SSPR_DELIVERY = "queue"
    with redis_server(tmp_path) as server:
        settings.RQ_QUEUES = {"sspr": {"URL": server.url}}
        watcher = redis.Redis.from_url(server.url)
        client.get("/readyz")
        opened = watcher.info("stats")["total_connections_received"]
        for _ in range(10):
            assert client.get("/readyz").json()["queue"] == "ok"
        # The watcher's own INFO goes over the connection it already has.
        assert watcher.info("stats")["total_connections_received"] - opened == 0
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        server.terminate()
        server.wait(timeout=10)
        assert client.get("/readyz").json()["queue"] == "unavailable"
    with redis_server(tmp_path, port=port):
        assert client.get("/readyz").json()["queue"] == "ok"
