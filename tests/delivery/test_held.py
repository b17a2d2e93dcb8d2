"""A notice written while the queue's Redis cannot be reached (delivery.outbox): the change it
tells of stands and its page says so, the notice waits in the database, sealed, and a worker
queues it once Redis answers again. A code is never held: its page says the service is
temporarily unavailable. A Redis that hangs fails the step within SSPR_CACHE_TIMEOUT."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from datetime import timedelta

import pytest
import redis
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from audit.models import Event, EventKind
from delivery import outbox
from delivery.models import FailedDelivery, HeldMessage
from delivery.outbox import Message
from delivery.sealing import unseal
from methods.models import AuthenticationEmail
from methods.recovery_codes import codes
from methods.recovery_codes.models import RecoveryCode
from tests.methods.recovery_codes.test_recovery_codes import CODE, make_codes, replacing
from tests.passwordreset.test_portal import NEW_PASSWORD, answer_form, give_answers
from tests.support.people import sign_in
from tests.support.resets import shows_done_page, shows_finish_page, start_reset

# Committed as in production: a notice written inside a transaction takes another way.
pytestmark = pytest.mark.django_db(transaction=True)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def queue_away(settings):
    """The web side queues, and nothing listens where the queue's Redis should be."""
    settings.SSPR_DELIVERY = "queue"
    settings.RQ_QUEUES = {"sspr": {"URL": f"redis://127.0.0.1:{_closed_port()}/0"}}


class _Silent:
    """A server that takes connections and never answers: a Redis that hangs."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)

    def stop(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def owner(make_user, policy):
    policy.set_option("recovery_codes", "enabled", True)
    policy.save()
    return make_user("owner", email="owner@example.org")


def test_a_new_set_of_recovery_codes_is_shown_and_its_notice_held(owner, queue_away, settings):
    client = Client()
    sign_in(client, "owner")
    old = make_codes(client)  # the first set has its notice held too
    answer = client.post("/ssprsetup/recovery-codes/", replacing(client))
    new = CODE.findall(answer.content.decode())
    assert answer.status_code == 200 and len(new) == 10
    assert "The earlier ones no longer work" in answer.content.decode()
    # What the page says is what is stored: the new set works, the old does not.
    assert RecoveryCode.objects.filter(user=owner).count() == 10
    assert not codes.spend(owner.pk, old[0]) and codes.spend(owner.pk, new[0])
    assert Event.objects.filter(kind=EventKind.METHOD_CHANGED, subject=owner).count() == 1
    # Nothing went out; both notices wait, masked where they can be read, sealed otherwise.
    assert mail.outbox == []
    held = list(HeldMessage.objects.all())
    assert [(h.user_id, h.channel, h.purpose) for h in held] == [(owner.pk, "email", "notice")] * 2
    assert held[0].destination == "o•••@example.org"
    assert "owner@example.org" not in held[1].sealed and "not-me" not in held[1].sealed
    message = unseal(held[1].sealed)
    assert message["to"] == "owner@example.org" and "changed" in message["body"]
    # The operators see them waiting (the queue's own figures cannot be read: it is away).
    settings.SSPR_METRICS_NETWORKS, settings.SSPR_METRICS_TOKEN = [], "metrics-token-0123456789"
    metrics = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-0123456789")
    assert "\nsspr_messages_held 2.0\n" in metrics.content.decode()


def test_a_reset_whose_notices_cannot_be_queued_still_says_and_is_done(
    make_user, policy, queue_away, approved_questions
):
    policy.questions_alone_allowed = True
    policy.save()
    rita = make_user("rita", email="rita@example.org")
    AuthenticationEmail.objects.create(
        user=rita, email="rita.home@example.net", verified_at=timezone.now()
    )
    answers = give_answers(rita)
    client = Client()
    start_reset(client, "rita")
    _, data = answer_form(client, answers)
    assert shows_finish_page(client.post("/passwordreset/questions/", data, follow=True))
    done = client.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert shows_done_page(done)
    assert get_user_model().objects.get(pk=rita.pk).check_password(NEW_PASSWORD)
    assert sorted(unseal(h.sealed)["to"] for h in HeldMessage.objects.all()) == [
        "rita.home@example.net",
        "rita@example.org",
    ]


def test_a_code_is_not_held_its_page_says_the_service_is_unavailable(make_user, queue_away):
    make_user("alice")
    client = Client()
    sign_in(client, "alice")
    client.raise_request_exception = False
    answer = client.post("/ssprsetup/email/", {"email": "alice.home@example.net"})
    assert answer.status_code == 503
    assert "temporarily unavailable" in answer.content.decode()
    assert not HeldMessage.objects.exists()


def test_a_redis_that_hangs_holds_the_notice_within_the_timeout(owner, settings):
    silent = _Silent()
    try:
        settings.SSPR_DELIVERY = "queue"
        settings.RQ_QUEUES = {"sspr": {"URL": f"redis://127.0.0.1:{silent.port}/0"}}
        settings.SSPR_CACHE_TIMEOUT = 0.5
        client = Client()
        sign_in(client, "owner")
        began = time.monotonic()
        assert len(make_codes(client)) == 10
        waited = time.monotonic() - began
    finally:
        silent.stop()
    assert HeldMessage.objects.filter(user=owner).count() == 1
    # One wait of the timeout for the notice's one try, not the kernel's minutes.
    assert waited < 5, waited


@pytest.mark.redis
@pytest.mark.postgres
def test_workers_queue_and_send_what_was_held_once_the_queue_answers(owner, settings):
    from tests.support.fake_twilio import FakeTwilio
    from tests.support.smtp import SmtpServer
    from tests.support.worker import ROOT, SID, worker_env

    redis_url = settings.RQ_QUEUES["sspr"]["URL"]
    redis.Redis.from_url(redis_url).flushdb()
    settings.SSPR_DELIVERY = "queue"
    settings.RQ_QUEUES = {"sspr": {"URL": f"redis://127.0.0.1:{_closed_port()}/0"}}
    client = Client()
    sign_in(client, "owner")
    make_codes(client)
    assert HeldMessage.objects.count() == 1 and mail.outbox == []
    # Redis answers again; two workers start at once: the notice goes out, once.
    settings.RQ_QUEUES = {"sspr": {"URL": redis_url}}
    smtp = SmtpServer().start()
    twilio = FakeTwilio(SID, "token").start()
    env = {
        **worker_env(twilio),
        "SSPR_EMAIL_BACKEND": "smtp",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
    }

    def work(workers: int) -> None:
        started = [
            subprocess.Popen(  # noqa: S603
                [sys.executable, "manage.py", "rqworker", "sspr", "--burst"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers)
        ]
        for worker in started:
            assert worker.wait(timeout=120) == 0, worker.stderr.read()[-3000:]

    try:
        work(2)
        assert [m["To"] for m in smtp.inbox.messages] == ["owner@example.org"]
        assert smtp.inbox.messages[0]["Subject"] == "Your password reset methods changed"
        assert not HeldMessage.objects.exists()
        # With the queue there, a new set's notice (written inside the set's transaction) is
        # held, then queued when that transaction commits, and goes out.
        make_codes(client)
        assert not HeldMessage.objects.exists()
        work(1)
        assert [m["To"] for m in smtp.inbox.messages] == ["owner@example.org"] * 2
        assert "changed" in smtp.inbox.messages[1].get_content()
    finally:
        twilio.stop()
        smtp.stop()
        redis.Redis.from_url(redis_url).flushdb()


def test_release_leaves_a_message_held_while_the_queue_is_still_away(owner, queue_away):
    client = Client()
    sign_in(client, "owner")
    make_codes(client)
    with pytest.raises(RedisConnectionError):
        outbox.release_held()
    assert HeldMessage.objects.count() == 1


def test_a_notice_of_a_change_taken_back_is_never_sent(owner, settings, monkeypatch):
    """Written inside a transaction that then fails: the notice goes with it, never queued;
    written inside one that commits, it is queued then."""
    settings.SSPR_DELIVERY = "queue"
    queued = []
    monkeypatch.setattr(outbox, "later", lambda function, **kwargs: queued.append(kwargs))
    notice = Message(channel="email", to="owner@example.org", body="Added.", user_id=owner.pk)
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.send(notice)
        raise RuntimeError("the change failed after its notice was written")
    assert queued == [] and not HeldMessage.objects.exists()
    with transaction.atomic():
        outbox.send(notice)
        assert queued == []  # not before the commit
    assert [kwargs["message"]["to"] for kwargs in queued] == ["owner@example.org"]
    assert not HeldMessage.objects.exists()


def test_a_held_message_that_cannot_be_opened_or_is_too_old_does_not_block_the_rest(
    owner, queue_away, settings
):
    """Sealed under an earlier secret key, or held past the week its link lasts: each becomes
    an undelivered message the helpdesk sees, and the one after them is still tried."""
    notice = Message(
        channel="email",
        to="owner@example.org",
        body="Added.",
        user_id=owner.pk,
        masked_to="o•••@example.org",
    )
    with override_settings(SECRET_KEY="an-earlier-secret-key-" + "x" * 40):
        sealed_before = outbox.seal(asdict(notice))
    HeldMessage.objects.create(
        user=owner,
        channel="email",
        purpose="notice",
        destination="o•••@example.org",
        sealed=sealed_before,
    )
    with time_machine.travel(timezone.now() - timedelta(days=outbox.HELD_MAX_DAYS + 1)):
        outbox._hold(notice)
    outbox._hold(notice)
    with pytest.raises(RedisConnectionError):
        outbox.release_held()  # the third is tried: the queue is still away
    assert HeldMessage.objects.count() == 1
    failed = list(FailedDelivery.objects.filter(user=owner))
    assert [(f.problem, f.destination) for f in failed] == [("unavailable", "o•••@example.org")] * 2
