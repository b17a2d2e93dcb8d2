"""Two expiry reminder runs at once send each reminder once (docs/security.md §47): two cron
entries, or two hosts, even where each process has its own cache and the cache's lock cannot
see the other run. The directory's read is replaced by a fixed page of people; what is under
test is what each run sends."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail

from directory import expiry_reminders
from directory.models import ExpiryReminder
from directory.password_life import Life
from tests.support.at_once import at_once

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def people(count: int, now: datetime.datetime = NOW) -> list[Life]:
    expires = now + datetime.timedelta(days=7, hours=-1)  # the 7-day reminder is due
    return [
        Life(f"p{n:02d}", f"P{n}", "Person", f"p{n:02d}@example.org", "", expires, False, False)
        for n in range(count)
    ]


@pytest.fixture
def directory_of(monkeypatch):
    def read(count: int, now: datetime.datetime = NOW) -> None:
        page = people(count, now)
        monkeypatch.setattr(expiry_reminders, "scan", lambda now: iter([page]))

    return read


class OwnCache:
    """A process's own cache: its lock never sees another host's run."""

    def add(self, *args, **kwargs) -> bool:
        return True

    def delete(self, *args, **kwargs) -> None:
        pass


def addresses() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_a_second_run_right_after_the_first_sends_nothing_new(directory_of, policy):
    directory_of(3)
    first = expiry_reminders.send_expiry_reminders(now=NOW)
    second = expiry_reminders.send_expiry_reminders(now=NOW)
    assert (first.reminded, second.reminded) == (3, 0)
    assert addresses() == ["p00@example.org", "p01@example.org", "p02@example.org"]


def test_a_run_on_another_host_while_one_is_sending_sends_nobody_a_second_reminder(
    directory_of, policy, monkeypatch
):
    from delivery import outbox

    directory_of(3)
    real_send = outbox.send
    other: list = []

    def send(message):
        if not other:
            other.append(None)
            # Another host, its own cache: the lock does not stop it.
            monkeypatch.setattr(expiry_reminders, "cache", OwnCache())
            other[0] = expiry_reminders.send_expiry_reminders(now=NOW)
        real_send(message)

    monkeypatch.setattr(outbox, "send", send)
    first = expiry_reminders.send_expiry_reminders(now=NOW)
    assert addresses() == ["p00@example.org", "p01@example.org", "p02@example.org"]
    assert first.reminded + other[0].reminded == 3


def test_a_reminder_that_could_not_be_queued_is_sent_by_the_next_run(
    directory_of, policy, monkeypatch
):
    from delivery import outbox

    directory_of(3)
    real_send = outbox.send
    calls: list = []

    def send(message):
        calls.append(message)
        if len(calls) == 2:
            raise ConnectionError("the queue went away")
        real_send(message)

    monkeypatch.setattr(outbox, "send", send)
    with pytest.raises(ConnectionError):
        expiry_reminders.send_expiry_reminders(now=NOW)
    monkeypatch.setattr(outbox, "send", real_send)
    expiry_reminders.send_expiry_reminders(now=NOW)
    assert addresses() == ["p00@example.org", "p01@example.org", "p02@example.org"]
    assert ExpiryReminder.objects.count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_runs_at_once_without_a_shared_lock_send_each_reminder_once(
    directory_of, monkeypatch, attempt
):
    """Two hosts at the same moment, each on its own database connection (SQLite or
    PostgreSQL), neither seeing the other's lock."""
    directory_of(40)
    monkeypatch.setattr(expiry_reminders, "cache", OwnCache())
    reports = at_once(lambda: expiry_reminders.send_expiry_reminders(now=NOW))

    assert len(reports) == 2
    assert len(mail.outbox) == 40 and len(set(addresses())) == 40
    assert sum(report.reminded for report in reports) == 40
    assert ExpiryReminder.objects.count() == 40


def test_the_command_says_what_another_run_took(directory_of, policy, monkeypatch):
    """The words of the run whose reminders another run recorded first, as cron mails them."""
    import io

    from django.core.management import call_command
    from django.utils import timezone

    directory_of(2, timezone.now())
    monkeypatch.setattr(expiry_reminders, "cache", OwnCache())
    monkeypatch.setattr(
        "directory.management.commands.send_expiry_reminders.config",
        lambda: type("Config", (), {"enabled": True})(),
    )
    real_claim = expiry_reminders._claim
    running: list = []

    def claim(reminders):
        if not running:
            running.append(True)
            expiry_reminders.send_expiry_reminders()  # the other run, in between
        return real_claim(reminders)

    monkeypatch.setattr(expiry_reminders, "_claim", claim)
    out = io.StringIO()
    call_command("send_expiry_reminders", stdout=out, stderr=io.StringIO())
    assert "People reminded: 0 " in out.getvalue()
    assert "2 reminders were recorded by another run at the same moment" in out.getvalue()
    assert len(mail.outbox) == 2
