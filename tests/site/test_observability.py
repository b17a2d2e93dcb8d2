"""/metrics, the JSON request log, the "temporarily unavailable" page and the synthetic reset
(README, "Metrics, logs and the audit stream")."""

from __future__ import annotations

import json
import logging
import re
import time
from unittest.mock import patch

import pytest
from django.core.management import CommandError, call_command
from django.db.utils import OperationalError
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from methods.models import AuthenticationEmail
from passwordreset import captcha
from sspr_site.request_log import JsonFormatter, PathsHidden
from tests.support.codes import last_email_code
from tests.support.people import PASSWORD
from tests.support.resets import shows_done_page, shows_finish_page, shows_reset_code_page

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture(autouse=True)
def _metrics_settings(settings):
    settings.SSPR_METRICS_NETWORKS = []
    settings.SSPR_METRICS_TOKEN = TOKEN
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000


def scrape(client: Client | None = None) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def delta(before, after, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0) - before.get(key, 0)


@pytest.fixture
def rita(make_user):
    user = make_user("rita")
    AuthenticationEmail.objects.create(
        user=user, email="rita.home@example.net", verified_at=timezone.now()
    )
    return user


def reset_by_email(client: Client, username="rita", address="rita.home@example.net") -> str:
    challenge = client.get("/passwordreset/check/").json()
    solution = captcha.solve(challenge)
    assert (
        client.post("/passwordreset/", {"username": username, "altcha": solution}).status_code
        == 302
    )
    assert client.post("/passwordreset/action/", {"action": "reset"}).status_code == 302
    assert shows_reset_code_page(client.post("/passwordreset/email/", {"email": address}), "email")
    code = last_email_code()
    assert shows_finish_page(client.post("/passwordreset/email/code/", {"code": code}))
    new = "Lantern-copper-harbour-2027"
    response = client.post("/passwordreset/finish/", {"new_password1": new, "new_password2": new})
    assert shows_done_page(response)
    return code


# --- /metrics -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_are_refused_to_anyone_outside_the_networks_without_the_token(settings):
    client = Client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert b"sspr_" not in client.get("/metrics").content
    # From a configured network (the test client's 127.0.0.1) it answers without a token.
    settings.SSPR_METRICS_NETWORKS = ["127.0.0.0/8"]
    assert client.get("/metrics").status_code == 200


@pytest.mark.django_db
def test_metrics_from_a_network_count_the_address_behind_a_trusted_proxy(settings):
    settings.SSPR_METRICS_NETWORKS = ["127.0.0.0/8"]
    settings.SSPR_TRUSTED_PROXIES = ["127.0.0.1"]
    # Through the (trusted) proxy the client is 203.0.113.9: outside the network.
    response = Client().get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 403


@pytest.mark.django_db
def test_metrics_count_a_reset_by_email(client, rita):
    before = scrape()
    reset_by_email(client)
    after = scrape()
    assert delta(before, after, "sspr_resets_started_total") == 1
    assert delta(before, after, "sspr_resets_completed_total") == 1
    assert delta(before, after, "sspr_codes_total", channel="email", outcome="sent") == 1
    assert delta(before, after, "sspr_codes_total", channel="email", outcome="delivered") == 1
    assert delta(before, after, "sspr_audit_events_total", kind="password_reset") == 1
    finished = {"view": "passwordreset:finish", "method": "post", "status": "200"}
    assert delta(before, after, "sspr_http_requests_total", **finished) == 1
    timed = "sspr_http_request_duration_seconds_count"
    assert delta(before, after, timed, view="passwordreset:finish") == 1
    # The admin home's counts: one person in scope, registered with one email.
    assert after[("sspr_people", (("state", "in_scope"),))] >= 1


@pytest.mark.django_db
def test_metrics_count_refused_resets_by_reason(client, settings):
    settings.SSPR_RESET_STARTS_PER_IP_PER_HOUR = 1
    before = scrape()
    for _ in range(3):
        challenge = client.get("/passwordreset/check/").json()
        client.post("/passwordreset/", {"username": "nobody", "altcha": captcha.solve(challenge)})
    after = scrape()
    assert delta(before, after, "sspr_resets_refused_total", reason="address_limited") == 2
    assert delta(before, after, "sspr_resets_started_total") == 1


# --- JSON request logs ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_answer_carries_a_request_id_and_a_json_log_line(client, settings, caplog, rita):
    settings.SSPR_LOG_FORMAT = "json"
    with caplog.at_level(logging.INFO, logger="sspr.request"):
        response = client.get("/passwordreset/")
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    records = [r for r in caplog.records if r.name == "sspr.request"]
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["request_id"] == request_id
    assert line["view"] == "passwordreset:start"
    assert line["status"] == 200 and line["method"] == "GET"
    assert line["client"] == "127.0.0.1" and line["duration_ms"] >= 0
    assert {"time", "level", "logger", "message"} <= set(line)


@pytest.mark.django_db
def test_a_request_line_says_how_much_processor_time_it_took(client, settings, caplog, rita):
    """A sign-in hashes the typed password (some milliseconds of processor time); a waiting
    request costs its wait in time, not in processor time."""
    settings.SSPR_LOG_FORMAT = "json"
    settings.PASSWORD_HASHERS = ["passwords.hashers.Argon2PasswordHasher"]
    rita.set_password("Some-other-passphrase-2026")
    rita.save()
    with caplog.at_level(logging.INFO, logger="sspr.request"):
        client.post("/ssprsetup/signin/", {"username": "rita", "password": "wrong-passphrase"})
        with patch("registration.views.SignInView.get", side_effect=lambda *a, **k: _slept()):
            client.get("/ssprsetup/signin/")
    signed_in, waited = (json.loads(JsonFormatter().format(r)) for r in caplog.records[-2:])
    assert signed_in["view"] == "registration:signin" and signed_in["cpu_ms"] >= 3
    assert signed_in["cpu_ms"] <= signed_in["duration_ms"] + 1
    assert waited["duration_ms"] >= 200 and waited["cpu_ms"] < 100


def _slept():
    time.sleep(0.25)
    return HttpResponse("waited")


@pytest.mark.django_db
def test_a_request_id_is_taken_only_from_a_trusted_proxy(client, settings):
    sent = "abcdef0123456789-from-proxy"
    assert client.get("/passwordreset/", HTTP_X_REQUEST_ID=sent)["X-Request-ID"] != sent
    settings.SSPR_TRUSTED_PROXIES = ["127.0.0.1"]
    assert client.get("/passwordreset/", HTTP_X_REQUEST_ID=sent)["X-Request-ID"] == sent
    # Not an id (a header injection, a long string): replaced.
    forged = "x" * 200
    assert client.get("/passwordreset/", HTTP_X_REQUEST_ID=forged)["X-Request-ID"] != forged


@pytest.mark.django_db
def test_json_logs_of_a_reset_hold_no_code_password_or_address(client, settings, caplog, rita):
    settings.SSPR_LOG_FORMAT = "json"
    formatter = JsonFormatter()
    with caplog.at_level(logging.DEBUG):
        code = reset_by_email(client)
    lines = "\n".join(formatter.format(record) for record in caplog.records)
    assert '"view": "passwordreset:finish"' in lines
    for secret in (code, "Lantern-copper-harbour-2027", "rita.home@example.net", PASSWORD):
        assert secret not in lines
    assert "/passwordreset/email/code/" not in lines  # views, never paths


@pytest.mark.django_db
@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_no_log_line_names_a_path_that_may_carry_a_token(client, settings, caplog, log_format):
    """Django's own line about a refused request names its path ("Gone: /ssprsetup/not-me/…");
    the site's handler writes the view instead, and the site's request line never had it."""
    settings.SSPR_LOG_FORMAT = log_format
    token = "tok" + "5e" * 12
    with caplog.at_level(logging.INFO):
        assert client.get(f"/ssprsetup/not-me/{token}/?next={token}").status_code == 410
    console = next(
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, PathsHidden) for f in handler.filters)
    )
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter()
    lines = [formatter.format(record) for record in caplog.records if console.filter(record)]
    assert any("Gone: view registration:not_me" in line for line in lines)
    assert any("registration:not_me" in line and "410" in line for line in lines)
    assert not [line for line in lines if token in line or "/not-me/" in line]


# --- The "temporarily unavailable" page -----------------------------------------------------------


@pytest.mark.django_db
def test_a_database_that_cannot_be_reached_shows_the_unavailable_page(monkeypatch):
    from passwordreset import views

    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views.StartForm, "__init__", broken)
    response = Client(raise_request_exception=False).get("/passwordreset/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "Temporarily unavailable" in page and "Traceback" not in page
    assert "connection refused" not in page


@pytest.mark.django_db
def test_other_errors_still_show_the_500_page(monkeypatch):
    from passwordreset import views

    def broken(*args, **kwargs):
        raise ValueError("bug")

    monkeypatch.setattr(views.StartForm, "__init__", broken)
    response = Client(raise_request_exception=False).get("/passwordreset/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


# --- The synthetic reset --------------------------------------------------------------------------


@pytest.mark.django_db
def test_probe_reset_resets_the_probe_account_and_exports_its_result(settings, tmp_path, rita):
    settings.SSPR_PROBE_USERNAME = "rita"
    settings.SSPR_PROBE_MAILBOX = "file"
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    settings.SSPR_SITE_URL = "http://localhost"
    textfile = tmp_path / "probe.prom"
    call_command("probe_reset", "--wait", "10", "--textfile", str(textfile))
    rita.refresh_from_db()
    assert not rita.check_password(PASSWORD)  # a new, random password
    values = scrape()
    assert values[("sspr_probe_reset_success", ())] == 1
    assert 0 < values[("sspr_probe_reset_duration_seconds", ())] < 10
    assert "sspr_probe_reset_success 1" in textfile.read_text()


@pytest.mark.django_db
def test_probe_reset_reports_a_code_that_never_came(settings, rita):
    settings.SSPR_PROBE_USERNAME = "rita"
    settings.SSPR_PROBE_MAILBOX = "file"  # but the mail goes elsewhere: nothing arrives
    settings.SSPR_SITE_URL = "http://localhost"
    with pytest.raises(CommandError, match="code"):
        call_command("probe_reset", "--wait", "1")
    rita.refresh_from_db()
    assert rita.check_password(PASSWORD)
    assert scrape()[("sspr_probe_reset_success", ())] == 0
