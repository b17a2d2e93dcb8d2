"""Registration reminders: who gets one, how often, from the admin and from cron."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import Event, EventKind
from registration.models import Registration
from tests.support.at_once import at_once

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user, policy):
    now = timezone.now()
    fresh = make_user("fresh")
    done = make_user("done")
    Registration.objects.create(user=done, completed_at=now, last_confirmed_at=now)
    due = make_user("due")
    Registration.objects.create(
        user=due, completed_at=now, last_confirmed_at=now - timedelta(days=400)
    )
    make_user("noaddress", email="")
    gone = make_user("gone")
    gone.is_active = False
    gone.save()
    return {"fresh": fresh, "done": done, "due": due}


def reminded() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_the_command_reminds_the_unregistered_and_the_due_once_per_interval(people, policy):
    out, err = io.StringIO(), io.StringIO()
    call_command("send_registration_reminders", "--dry-run", stdout=out, stderr=err)
    assert "2 people would be reminded. Nothing was sent." in out.getvalue()
    assert mail.outbox == []

    call_command("send_registration_reminders", "--batch-size", "1", stdout=out, stderr=err)
    assert reminded() == ["due@example.org", "fresh@example.org"]
    assert "2 / 2 reminders queued" in err.getvalue()
    body = mail.outbox[0].body
    assert "/ssprsetup/" in body and "never asks for your password" in body
    event = Event.objects.get(kind=EventKind.REMINDERS_SENT)
    assert event.details == {"count": 2, "interval_days": policy.reminder_interval_days}

    mail.outbox.clear()
    call_command("send_registration_reminders", stdout=io.StringIO(), stderr=io.StringIO())
    assert mail.outbox == []  # within the interval: nobody again
    later = timezone.now() + timedelta(days=policy.reminder_interval_days + 1)
    with time_machine.travel(later, tick=False):
        call_command("send_registration_reminders", stdout=io.StringIO(), stderr=io.StringIO())
    assert reminded() == ["due@example.org", "fresh@example.org"]


def test_the_organisation_can_turn_reminders_off(people, policy, admin_client):
    policy.reminders_enabled = False
    policy.save()
    with pytest.raises(CommandError, match="turned off"):
        call_command("send_registration_reminders", stdout=io.StringIO())
    page = admin_client.get("/admin/auth/user/send-reminders/").content.decode()
    assert "Reminders are turned off" in page
    admin_client.post("/admin/auth/user/send-reminders/")
    assert mail.outbox == []


def test_the_admin_previews_the_count_then_sends(people, admin_client):
    page = admin_client.get("/admin/auth/user/send-reminders/").content.decode()
    # fresh, due, and the administrator of the admin_client (not registered either).
    assert "3 people in scope have not registered" in page and "Send 3 reminders" in page
    assert mail.outbox == []
    response = admin_client.post("/admin/auth/user/send-reminders/", follow=True)
    assert "3 registration reminders were sent." in response.content.decode()
    assert len(mail.outbox) == 3
    assert 'href="/admin/auth/user/send-reminders/"' in admin_client.get("/admin/").content.decode()


# --- Two runs at once (README, "Administration": nobody reminded twice) -----------------------


def test_a_second_submit_right_after_the_first_sends_nothing_new(people, admin_client):
    first = admin_client.post("/admin/auth/user/send-reminders/", follow=True)
    assert "3 registration reminders were sent." in first.content.decode()
    second = admin_client.post("/admin/auth/user/send-reminders/", follow=True)
    assert "0 registration reminders were sent." in second.content.decode()
    assert len(mail.outbox) == 3 and len(set(reminded())) == 3
    assert Event.objects.filter(kind=EventKind.REMINDERS_SENT).count() == 1  # nobody to remind


def test_a_run_started_while_another_is_sending_sends_nobody_a_second_reminder(
    people, policy, monkeypatch
):
    """The scheduled command starts while the button's run is still queueing its messages."""
    from delivery import outbox
    from registration.reminders import reminders_send

    real_send = outbox.send
    other: list = []

    def send(message):
        if not other:
            other.append(reminders_send(policy=policy))
        real_send(message)

    monkeypatch.setattr(outbox, "send", send)
    first = reminders_send(policy=policy)
    assert reminded() == ["due@example.org", "fresh@example.org"]
    assert first.sent + other[0].sent == 2


def test_the_second_run_says_another_run_took_its_people(people, policy, admin_client, monkeypatch):
    """The other run claims them between this run's count and its claim."""
    from registration import reminders

    real_claim = reminders._claim
    done: list = []
    running: list = []

    def claim(*args):
        if not running:
            running.append(True)
            done.append(reminders.reminders_send(policy=policy))
        return real_claim(*args)

    monkeypatch.setattr(reminders, "_claim", claim)
    page = admin_client.post("/admin/auth/user/send-reminders/", follow=True).content.decode()
    assert done[0].sent == 3
    assert "0 registration reminders were sent." in page
    assert "3 people were being reminded by another run at the same moment" in page
    assert "nobody gets a reminder twice" in page
    assert len(mail.outbox) == 3
    out = io.StringIO()
    Registration.objects.update(reminded_at=None)
    mail.outbox.clear()
    done.clear()
    running.clear()
    call_command("send_registration_reminders", stdout=out, stderr=io.StringIO())
    assert "0 reminders queued." in out.getvalue() and "another run" in out.getvalue()
    assert len(mail.outbox) == 3


def test_a_reminder_that_could_not_be_queued_is_sent_by_the_next_run(people, policy, monkeypatch):
    from delivery import outbox
    from registration.reminders import RemindersInterrupted, reminders_send

    real_send = outbox.send
    calls: list = []

    def send(message):
        calls.append(message.to)
        if len(calls) == 2:
            raise ConnectionError("the queue went away")
        real_send(message)

    monkeypatch.setattr(outbox, "send", send)
    with pytest.raises(RemindersInterrupted) as stopped:
        reminders_send(policy=policy, batch_size=10)
    assert stopped.value.report.sent == 1
    assert len(mail.outbox) == 1
    monkeypatch.setattr(outbox, "send", real_send)
    reminders_send(policy=policy)
    assert reminded() == ["due@example.org", "fresh@example.org"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_runs_at_once_remind_each_person_once(make_user, attempt):
    """The button and the scheduled command (or two hosts) at the same moment, each on its own
    database connection, in small batches so that they interleave; SQLite or PostgreSQL."""

    from policy.models import Policy
    from registration.reminders import reminders_send

    for number in range(40):
        make_user(f"person{number:02d}")
    policy = Policy.load()
    reports = at_once(lambda: reminders_send(policy=policy, batch_size=4))

    assert len(reports) == 2
    assert len(mail.outbox) == 40 and len(set(reminded())) == 40
    assert sum(report.sent for report in reports) == 40
    for report in reports:  # what each run says: what it sent, and what the other took
        assert report.sent + report.taken <= report.candidates
    counts = Event.objects.filter(kind=EventKind.REMINDERS_SENT).values_list(
        "details__count", flat=True
    )
    # A run that found nobody due (the other had already claimed and sent all) records nothing.
    assert sorted(counts) == sorted(report.sent for report in reports if report.candidates)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admin_submits_at_once_send_each_reminder_once_on_postgresql(make_user):
    """Two quick submits of "Send registration reminders", two connections, real row locks."""
    import re

    from django.test import Client

    from tests.support.people import past_sign_in_check

    admin = make_user("root", staff=True, is_superuser=True)
    for number in range(30):
        make_user(f"person{number:02d}")
    clients = iter([past_sign_in_check(Client(), admin) for _ in range(2)])

    def submit() -> str:
        response = next(clients).post("/admin/auth/user/send-reminders/", follow=True)
        return response.content.decode()

    pages = at_once(submit)

    assert len(pages) == 2
    assert len(mail.outbox) == 31 and len(set(reminded())) == 31  # the 30 and the admin
    sent = [int(re.search(r"(\d+) registration reminders? (?:was|were) sent", p)[1]) for p in pages]
    assert sum(sent) == 31
    for page, count in zip(pages, sent, strict=True):
        if count < 31 and "another run" in page:
            assert "nobody gets a reminder twice" in page


@pytest.mark.parametrize("where", ["command", "admin"])
def test_a_run_the_queue_stops_partway_records_and_says_what_went_out(
    make_user, policy, admin_client, monkeypatch, where
):
    """The queue goes away after the first batch: the run says how many went out, records
    them as every run is (before, a traceback or a 500 page, and no event), and the others
    keep their turn: the next run reminds them, and nobody twice."""
    from redis.exceptions import ConnectionError as QueueDown

    from registration import reminders

    for n in range(4):
        make_user(f"p{n}")
    everyone = list(reminders.reminder_candidates(policy).values_list("email", flat=True))
    queued = reminders._send_one
    calls = []

    def queue_goes_away(person, policy, language):
        calls.append(person.pk)
        if len(calls) == 3:
            raise QueueDown("Connection refused")
        return queued(person, policy, language)

    monkeypatch.setattr(reminders, "_send_one", queue_goes_away)
    said = "Reminders queued before it stopped: 2 (recorded)"
    if where == "command":
        with pytest.raises(CommandError, match=r"queued before it stopped: 2 \(recorded\)"):
            call_command(
                "send_registration_reminders",
                "--batch-size",
                "2",
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )
    else:
        monkeypatch.setattr(reminders, "_send_all", _batches_of_two(reminders._send_all))
        page = admin_client.post("/admin/auth/user/send-reminders/", follow=True)
        assert page.status_code == 200 and said in page.content.decode()
    event = Event.objects.get(kind=EventKind.REMINDERS_SENT)
    assert event.details["count"] == 2 and event.details["interrupted"] is True
    assert reminded() == sorted(everyone[:2])
    monkeypatch.setattr(reminders, "_send_one", queued)
    call_command("send_registration_reminders", stdout=io.StringIO(), stderr=io.StringIO())
    assert reminded() == sorted(everyone)


def _batches_of_two(send_all):
    def in_twos(candidates, report, policy, batch_size, progress):
        return send_all(candidates, report, policy, 2, progress)

    return in_twos
