"""Messages through the real queue: RQ on the loopback Redis, a real worker process, the real
twilio client against the loopback Twilio stand-in, PostgreSQL shared by both (conftest.py and
tests/support/worker.py).

Each test enqueues from the web side, then runs `manage.py rqworker --burst` as a separate
process, as `make serve` runs it, and looks at what the person and the helpdesk see.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from delivery.models import FailedDelivery
from methods.models import AuthenticationPhone, VerificationCode
from tests.support.fake_twilio import Failure
from tests.support.registering import ask_for_code
from tests.support.resets import reset_code_page, shows_finish_page
from tests.support.worker import SID, run_worker

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_worker_delivers_the_code_and_the_queue_never_holds_it(queued, twilio, make_user):
    client = ask_for_code(make_user)
    assert twilio.received == []  # nothing left during the request
    # What sits in the queue: neither the number nor (below) the code can be read from it.
    # (The person's session, also kept in Redis, holds the number they typed, as it would in
    # the database; the code is in neither.)
    stored = b"".join(
        queued.dump(key) or b"" for key in queued.keys("rq:*") if queued.type(key) != b"none"
    )
    assert stored  # the job is there
    assert b"7400123456" not in stored
    run_worker(twilio)
    (message,) = twilio.received
    code = message["Body"][:6]
    assert code.encode() not in stored
    assert client.post("/ssprsetup/phone/verify/", {"code": code})["Location"] == "/ssprsetup/"
    assert AuthenticationPhone.objects.get().verified_at


def test_a_temporary_failure_is_retried_and_then_delivered(queued, twilio, make_user):
    twilio.failures.append(Failure(500, None, "boom"))
    client = ask_for_code(make_user)
    run_worker(twilio)
    assert len(twilio.received) == 1  # the failed try is not recorded by the stand-in
    assert not FailedDelivery.objects.exists()
    page = client.get("/ssprsetup/phone/verify/").content.decode()
    assert 'id="undelivered"' not in page


def test_after_the_last_try_the_message_is_a_dead_letter(queued, twilio, make_user):
    twilio.failures.extend([Failure(503, None, "down")] * 3)
    client = ask_for_code(make_user)
    run_worker(twilio)
    failed = FailedDelivery.objects.get()
    assert (failed.attempts, failed.problem, failed.channel) == (3, "unavailable", "sms")
    assert failed.destination == "+44 ••••••••56"
    page = client.get("/ssprsetup/phone/verify/").content.decode()
    assert "could not be sent just now" in page
    assert Event.objects.get(kind=EventKind.DELIVERY_FAILED).details["attempts"] == 3


def test_a_permanent_failure_reaches_the_person_at_once(queued, twilio, make_user):
    user_client = ask_for_code(make_user)
    twilio.failures.append(Failure(400, 21211, "Invalid 'To' Phone Number"))
    run_worker(twilio)
    failed = FailedDelivery.objects.get()
    assert (failed.attempts, failed.problem) == (1, "invalid_number")
    page = user_client.get("/ssprsetup/phone/verify/").content.decode()
    assert "cannot receive our messages" in page
    assert not VerificationCode.objects.get().token


def test_messages_are_queued_over_one_connection(queued, make_user):
    """Each queued message, and each read of its delivery record, goes over the process's one
    client (delivery/connection.py), not a new connection to Redis with its handshake each."""
    from delivery import outbox
    from delivery.outbox import Message

    outbox.send(Message(channel="email", to="someone@example.org", body="warm-up"))
    opened = queued.info("stats")["total_connections_received"]
    for n in range(10):
        outbox.send(Message(channel="email", to=f"person{n}@example.org", body="hello"))
    assert queued.llen("rq:queue:sspr") == 11
    # The test's own reads (INFO, LLEN) are on one connection of its own, opened already.
    assert queued.info("stats")["total_connections_received"] - opened == 0


# --- At the reset portal the code is written by a job, which makes the first try itself -------


def rita_on_her_code_page(queued, make_user) -> Client:
    queued.config_resetstat()  # jobs_queued() counts from here
    rita = make_user("rita")
    AuthenticationPhone.objects.create(
        user=rita, number="+447400123456", verified_at=timezone.now()
    )
    return reset_code_page("rita", "+447400123456")


def jobs_queued(queued) -> int:
    """Jobs put on the queue so far (each one a push onto its list)."""
    return queued.info("commandstats").get("cmdstat_rpush", {}).get("calls", 0)


def test_at_the_portal_the_code_job_sends_its_message_without_queueing_it_again(
    queued, twilio, make_user
):
    client = rita_on_her_code_page(queued, make_user)
    assert jobs_queued(queued) == 1  # the job that decides whether the number is rita's
    run_worker(twilio)
    (message,) = twilio.received
    assert message["To"] == "+447400123456"
    assert jobs_queued(queued) == 1  # its message left from that job
    code = message["Body"][:6]
    response = client.post("/passwordreset/phone/code/", {"code": code})
    # Accepted: the one method the policy asks for passed, so on to the new password.
    assert shows_finish_page(response)


def test_at_the_portal_a_first_try_that_fails_for_now_is_tried_again_by_the_queue(
    queued, twilio, make_user
):
    twilio.failures.append(Failure(503, None, "down"))
    rita_on_her_code_page(queued, make_user)
    run_worker(twilio)
    assert [message["To"] for message in twilio.received] == ["+447400123456"]
    assert jobs_queued(queued) == 2
    assert not FailedDelivery.objects.exists()


def test_at_the_portal_every_try_counts_towards_the_dead_letter(queued, twilio, make_user):
    twilio.failures.extend([Failure(503, None, "down")] * 3)
    rita_on_her_code_page(queued, make_user)
    run_worker(twilio)
    assert twilio.received == [] and twilio.failures == []  # three tries, as from a page
    failed = FailedDelivery.objects.get()
    assert (failed.attempts, failed.problem, failed.channel) == (3, "unavailable", "sms")
    assert Event.objects.get(kind=EventKind.DELIVERY_FAILED).details["attempts"] == 3
    assert not VerificationCode.objects.get().token


def test_at_the_portal_a_permanent_refusal_is_given_up_on_the_first_try(queued, twilio, make_user):
    twilio.failures.extend([Failure(400, 21211, "Invalid 'To' Phone Number")] * 2)
    rita_on_her_code_page(queued, make_user)
    run_worker(twilio)
    assert len(twilio.failures) == 1  # asked once, not again through the queue
    failed = FailedDelivery.objects.get()
    assert (failed.attempts, failed.problem) == (1, "invalid_number")
    assert jobs_queued(queued) == 1
    # The helpdesk's history reads in order: the code sent, then its failure.
    kinds = [EventKind.CODE_SENT, EventKind.DELIVERY_FAILED]
    history = Event.objects.filter(kind__in=kinds).order_by("pk").values_list("kind", flat=True)
    assert list(history) == kinds
    assert not VerificationCode.objects.get().token


def test_after_a_first_try_in_a_job_the_next_waits_for_the_first_interval(queued, twilio, settings):
    """In the worker with the production schedule: the first try fails for now, and the
    message waits in the scheduler for the first interval, with the remaining tries after it
    (the worker's scheduler, `rqworker --with-scheduler`, moves it to the queue when due)."""
    from rq import Queue
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    from delivery import outbox
    from delivery.outbox import Message

    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE_URL = twilio.base_url
    settings.TWILIO_TIMEOUT = 2
    settings.SSPR_DELIVERY_RETRY_INTERVALS = [10, 60, 300, 900]
    twilio.failures.append(Failure(503, None, "down"))
    # A job the worker runs, writing a message.
    outbox.run(
        "delivery.outbox.send",
        {"message": Message(channel="sms", to="+447400123456", body="123456 is your code")},
    )
    assert twilio.failures == [] and twilio.received == []  # tried once, here
    assert queued.llen("rq:queue:sspr") == 0  # not at once: in the scheduler
    queue = Queue("sspr", connection=queued)
    (job_id,) = ScheduledJobRegistry(queue=queue).get_job_ids()
    due = ScheduledJobRegistry(queue=queue).get_scheduled_time(job_id)
    assert 5 < (due - timezone.now()).total_seconds() <= 10
    job = Job.fetch(job_id, connection=queued)
    assert job.retries_left == 3 and job.retry_intervals == [60, 300, 900]
    assert b"7400123456" not in (queued.dump(f"rq:job:{job_id}") or b"")


def test_a_refusal_naming_the_number_leaves_it_out_of_the_workers_log(queued, twilio, make_user):
    """The gateway's refusal names the number; a retried job's traceback, which the worker
    logs, carried it along (the error was chained to the gateway's). Never a full number in
    a log (docs/security.md §21)."""
    refusal = "The 'To' phone number: +447400123456, is not currently reachable"
    twilio.failures.extend([Failure(400, 21612, refusal)] * 3)
    ask_for_code(make_user)
    result = run_worker(twilio)
    logged = result.stdout + result.stderr
    assert "twilio refused a sms: status=400 code=21612" in logged  # the run was logged
    assert "7400123456" not in logged and "7400 123456" not in logged
