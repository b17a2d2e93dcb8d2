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
