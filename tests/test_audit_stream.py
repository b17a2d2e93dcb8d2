"""The audit stream (audit.stream): RFC 5424 syslog over UDP and TCP to a real receiver on
loopback, an HMAC-signed webhook to a local server, retries through the real queue, dead
letters in the admin."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from audit.log import record
from audit.models import EventKind, StreamDeadLetter
from tests.support.people import PASSWORD, sign_in

SECRET = "webhook-secret-for-tests"
RFC5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<time>\S+Z) (?P<host>\S+) sspr (?P<pid>\d+) (?P<msgid>\S+) "
    r"\[sspr@32473 (?P<sd>[^\]]*)\] (?P<msg>\{.*\})$"
)


class Receiver:
    """A syslog receiver on loopback: UDP datagrams, or TCP octet-counted frames."""

    def __init__(self, kind: str):
        self.messages: list[str] = []
        self.kind = kind
        received = self.messages

        class UDPHandler(socketserver.BaseRequestHandler):
            def handle(self):
                received.append(self.request[0].decode())

        class TCPHandler(socketserver.StreamRequestHandler):
            def handle(self):
                data = self.rfile.read()
                while data:
                    length, _, rest = data.partition(b" ")
                    size = int(length)
                    received.append(rest[:size].decode())
                    data = rest[size:]

        server_class = (
            socketserver.ThreadingUDPServer if kind == "udp" else (socketserver.ThreadingTCPServer)
        )
        self.server = server_class(("127.0.0.1", 0), UDPHandler if kind == "udp" else TCPHandler)
        self.url = f"{kind}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int) -> list[str]:
        deadline = time.monotonic() + 5
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Webhook:
    """A local webhook that checks the signature; it fails the first `fail` deliveries."""

    def __init__(self, fail: int = 0):
        self.received: list[dict] = []
        self.attempts = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.attempts += 1
                timestamp = self.headers["X-SSPR-Timestamp"]
                expected = (
                    "v1="
                    + hmac.new(
                        SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
                    ).hexdigest()
                )
                good = hmac.compare_digest(expected, self.headers["X-SSPR-Signature"])
                fresh = abs(time.time() - int(timestamp)) < 300
                if hook.attempts <= fail or not (good and fresh):
                    self.send_response(500 if good else 401)
                else:
                    hook.received.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/audit"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["udp", "tcp"])
def syslog(request, settings):
    receiver = Receiver(request.param)
    settings.SSPR_AUDIT_SYSLOG = receiver.url
    yield receiver
    receiver.close()


@pytest.fixture
def webhook(settings):
    hook = Webhook()
    settings.SSPR_AUDIT_WEBHOOK_URL = hook.url
    settings.SSPR_AUDIT_WEBHOOK_SECRET = SECRET
    yield hook
    hook.close()


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_reaches_syslog_as_rfc5424_without_the_password(syslog, make_user):
    user = make_user("alice")
    client = Client()
    sign_in(client, "alice", "wrong-password-typed")
    sign_in(client, "alice")
    messages = syslog.wait(2)
    kinds = [RFC5424.match(m).group("msgid") for m in messages]
    assert "sign_in_failed" in kinds and "signed_in" in kinds
    for message in messages:
        parsed = RFC5424.match(message)
        event = json.loads(parsed.group("msg"))
        assert event["subject"] in (user.pk, None)
        assert f'kind="{event["kind"]}"' in parsed.group("sd")
        # authpriv (10): notice for a sign-in, warning for a failure.
        severity = 4 if event["kind"] == "sign_in_failed" else 5
        assert int(parsed.group("pri")) == 10 * 8 + severity
        assert PASSWORD not in message and "wrong-password-typed" not in message


@pytest.mark.django_db(transaction=True)
def test_an_event_reaches_the_webhook_signed(webhook, make_user):
    user = make_user("bob")
    record(EventKind.POLICY_CHANGED, actor=user, ip="192.0.2.4", fields=2)
    deadline = time.monotonic() + 5
    while not webhook.received and time.monotonic() < deadline:
        time.sleep(0.02)
    [event] = webhook.received
    assert event["kind"] == "policy_changed" and event["actor"] == user.pk
    assert event["ip"] == "192.0.2.4" and event["details"] == {"fields": 2}
    assert not StreamDeadLetter.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_forged_signature_is_refused_by_the_receiver_and_kept_as_a_dead_letter(
    webhook, settings, make_user
):
    settings.SSPR_AUDIT_WEBHOOK_SECRET = "not-the-receivers-secret"
    record(EventKind.POLICY_CHANGED, actor=make_user("carol"))
    assert webhook.received == []
    letter = StreamDeadLetter.objects.get()
    assert letter.sink == "webhook" and letter.kind == "policy_changed"


@pytest.mark.django_db(transaction=True)
def test_a_webhook_that_is_away_leaves_a_dead_letter_listed_and_sent_again_in_the_admin(
    settings, admin_client
):
    hook = Webhook(fail=1)
    settings.SSPR_AUDIT_WEBHOOK_URL = hook.url
    settings.SSPR_AUDIT_WEBHOOK_SECRET = SECRET
    try:
        record(EventKind.POLICY_CHANGED, ip="192.0.2.5")
        letter = StreamDeadLetter.objects.get()
        page = admin_client.get("/admin/audit/streamdeadletter/").content.decode()
        assert f"{letter.event_id}" in page and "webhook" in page
        response = admin_client.post(
            "/admin/audit/streamdeadletter/",
            {"action": "send_again", "_selected_action": [letter.pk]},
        )
        assert response.status_code == 302
        assert not StreamDeadLetter.objects.exists()
        assert [event["id"] for event in hook.received] == [letter.event_id]
    finally:
        hook.close()


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_syslog_leaves_a_dead_letter_not_an_error(settings, make_user):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SSPR_AUDIT_SYSLOG = f"tcp://127.0.0.1:{port}"  # nothing listens there
    client = Client()
    make_user("dave")
    assert sign_in(client, "dave").status_code == 302
    assert StreamDeadLetter.objects.filter(sink="syslog", kind="signed_in").exists()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_queue_retries_a_failed_webhook_then_gives_up_into_a_dead_letter(settings):
    import django_rq
    from rq import SimpleWorker

    settings.SSPR_DELIVERY = "queue"
    settings.SSPR_DELIVERY_RETRY_INTERVALS = [0, 0]
    queue = django_rq.get_queue("sspr")
    queue.empty()
    flaky, away = Webhook(fail=2), Webhook(fail=99)
    settings.SSPR_AUDIT_WEBHOOK_SECRET = SECRET
    try:
        settings.SSPR_AUDIT_WEBHOOK_URL = flaky.url
        first = record(EventKind.POLICY_CHANGED, ip="192.0.2.6")
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        assert flaky.attempts == 3 and [e["id"] for e in flaky.received] == [first.pk]
        assert not StreamDeadLetter.objects.exists()

        settings.SSPR_AUDIT_WEBHOOK_URL = away.url
        second = record(EventKind.POLICY_CHANGED, ip="192.0.2.7")
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        assert away.attempts == 3 and away.received == []
        letter = StreamDeadLetter.objects.get()
        assert (letter.event_id, letter.attempts, letter.sink) == (second.pk, 3, "webhook")
    finally:
        flaky.close()
        away.close()


@pytest.mark.django_db(transaction=True)
def test_events_written_in_bulk_reach_the_stream_and_the_metrics(webhook, make_user, tmp_path):
    """The reconfirmation sweep and the contact import write their events with one statement
    each, not one `record` per event: each event reaches the SIEM all the same, and /metrics
    counts it. Before, none of them left the audit table."""
    import io

    from django.core.management import call_command
    from django.utils import timezone
    from prometheus_client import REGISTRY

    from audit.models import Event
    from registration.models import Registration

    def counted(kind: str) -> float:
        return REGISTRY.get_sample_value("sspr_audit_events_total", {"kind": kind}) or 0

    before = counted("registration_flagged"), counted("contact_imported")
    people = [make_user(name, password=None) for name in ("ann", "ben")]
    long_ago = timezone.now() - timezone.timedelta(days=900)
    for person in people:
        Registration.objects.create(user=person, completed_at=long_ago, last_confirmed_at=long_ago)
    call_command("flag_stale_registrations", stdout=io.StringIO())
    csv = tmp_path / "contacts.csv"
    csv.write_text(
        "username,office_phone,authentication_phone,authentication_email,consent\n"
        "ann,+442071838750,,,no\nben,+442071838751,,,no\n"
    )
    call_command("import_contact_info", str(csv), stdout=io.StringIO(), stderr=io.StringIO())
    written = set(
        Event.objects.filter(kind__in=["registration_flagged", "contact_imported"]).values_list(
            "pk", flat=True
        )
    )
    assert len(written) == 4
    deadline = time.monotonic() + 5
    while len(webhook.received) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert {event["id"] for event in webhook.received} == written
    assert counted("registration_flagged") - before[0] == 2
    assert counted("contact_imported") - before[1] == 2
