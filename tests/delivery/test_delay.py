"""A message that waits in the queue: what the person and the load balancer are told.

With the worker stopped a code is only queued, so the code page says it is on its way, never
that it was sent; once it has waited longer than SSPR_DELIVERY_DUE_SECONDS the page says it has
not gone out and offers another method — at the reset portal alike for every name. /readyz is
not ready without a live worker or with a message waiting past the same bound.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rq import Queue

from methods.models import AuthenticationPhone
from tests.support.registering import ask_for_code
from tests.support.resets import reset_code_page
from tests.support.worker import run_worker, stop_worker

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOTICE = re.compile(r'<div class="error-summary"[^>]*id="not-delivered">.*?</div>', re.S)


def past_the_bound(settings):
    """Travel to just after the bound (the queue's Redis keeps its own clock)."""
    later = timezone.now() + timedelta(seconds=settings.SSPR_DELIVERY_DUE_SECONDS + 5)
    return time_machine.travel(later, tick=True)


def test_a_queued_code_is_on_its_way_and_then_not_delivered(queued, twilio, make_user, settings):
    client = ask_for_code(make_user)
    page = client.get("/ssprsetup/phone/verify/").content.decode()
    assert "A 6-digit code is on its way to" in page
    assert "We sent" not in page
    assert 'id="not-delivered"' not in page
    # The delivery record holds no number (nor any code: there is none in the test's reach).
    records = b"".join(queued.get(key) or b"" for key in queued.keys("sspr:delivery:*"))
    assert records and b"7400123456" not in records and b"+44" not in records

    with past_the_bound(settings):
        page = client.get("/ssprsetup/phone/verify/").content.decode()
    (notice,) = NOTICE.findall(page)
    assert "The code has not been sent yet" in notice
    assert "within 2 minutes" in notice
    assert '<a href="/ssprsetup/">Use another method</a>' in notice
    assert "We sent" not in page

    # The worker comes back: the code goes out, and the page says so.
    run_worker(twilio)
    assert len(twilio.received) == 1
    page = client.get("/ssprsetup/phone/verify/").content.decode()
    assert "We sent a 6-digit code to" in page
    assert 'id="not-delivered"' not in page


def test_the_bound_is_a_setting(queued, twilio, make_user, settings):
    settings.SSPR_DELIVERY_DUE_SECONDS = 600
    client = ask_for_code(make_user)
    with time_machine.travel(timezone.now() + timedelta(seconds=300), tick=True):
        assert 'id="not-delivered"' not in client.get("/ssprsetup/phone/verify/").content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=605), tick=True):
        page = client.get("/ssprsetup/phone/verify/").content.decode()
    assert "within 10 minutes" in NOTICE.findall(page)[0]


def test_a_code_that_went_out_is_never_reported_late(queued, twilio, make_user, settings):
    client = ask_for_code(make_user)
    run_worker(twilio)
    with past_the_bound(settings):
        page = client.get("/ssprsetup/phone/verify/").content.decode()
    assert "We sent a 6-digit code to" in page
    assert 'id="not-delivered"' not in page


def test_at_the_portal_the_delay_notice_is_the_same_for_every_name(
    queued, twilio, make_user, settings
):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000
    rita = make_user("rita")
    now = timezone.now()
    AuthenticationPhone.objects.create(user=rita, number="+447400123456", verified_at=now)
    registered = reset_code_page("rita", "+447400123456")
    unknown = reset_code_page("nobody-here", "+447400123456")
    pages = [c.get("/passwordreset/phone/code/").content.decode() for c in (registered, unknown)]
    for page in pages:
        assert "a 6-digit code is on its way" in page
        assert 'id="not-delivered"' not in page

    with past_the_bound(settings):
        pages = [c.get("/passwordreset/phone/code/") for c in (registered, unknown)]
    notices = [NOTICE.findall(page.content.decode()) for page in pages]
    assert [page.status_code for page in pages] == [200, 200]
    assert notices[0] == notices[1] and len(notices[0]) == 1
    assert "no code has gone out yet" in notices[0][0]
    assert '<a href="/passwordreset/methods/">Use another method</a>' in notices[0][0]

    # The worker handles both requests; only the registered number gets a code, and neither
    # page says anything about it.
    run_worker(twilio)
    assert [message["To"] for message in twilio.received] == ["+447400123456"]
    with past_the_bound(settings):
        for client in (registered, unknown):
            page = client.get("/passwordreset/phone/code/").content.decode()
            assert 'id="not-delivered"' not in page


# --- /readyz ----------------------------------------------------------------------------------


def test_readiness_needs_a_live_worker(queued, client, worker):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "queue": "ok",
        "worker": "ok",
        "backlog": "ok",
    }
    stop_worker(worker)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["worker"] == "no live worker"
    assert (body["queue"], body["backlog"], body["database"]) == ("ok", "ok", "ok")


def test_a_growing_backlog_makes_readiness_fail(queued, client, worker, make_user, settings):
    # The worker lives (its heartbeat goes on) but is busy with a slow job: messages pile up.
    queue = Queue("sspr", connection=queued)
    queue.enqueue("time.sleep", 10)
    ask_for_code(make_user)
    assert queue.count == 1
    assert client.get("/readyz").status_code == 200  # a fresh message is no backlog
    with past_the_bound(settings):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["worker"] == "ok"
    assert re.fullmatch(r"oldest message waiting 1\d\d s", body["backlog"])
    # The slow job ends: the backlog drains and the site is ready again.
    deadline = time.monotonic() + 30
    while queue.count and time.monotonic() < deadline:
        time.sleep(0.2)
    with past_the_bound(settings):
        assert client.get("/readyz").status_code == 200
