"""Passes for administrator accounts need two people: the agent who asks and a Helpdesk
administrator who approves within 15 minutes, before the pass is shown. Nobody approves their
own request, or a pass for themselves."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from accesspass.models import AccessPass, EndReason
from audit.models import Event, EventKind
from tests.support.access_passes import (
    PASS_PATTERN,
    approvers_group,
    helpdesk_group,
    issue,
    the_pass,
    use_pass,
)
from tests.support.people import past_sign_in_check

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _someone_can_approve(approver):
    """A Helpdesk administrator besides the agent and the person (without one, a request is
    refused: test_a_request_nobody_can_approve_is_refused_beforehand)."""


@pytest.fixture
def admin_person(make_user):
    return make_user("ada", staff=True)


def ask(desk, person):
    response = issue(desk, person, note="Known voice; checked the employee number")
    assert response.status_code == 302, response.content.decode()[:2000]
    item = AccessPass.objects.get(user=person, ended_at__isnull=True)
    assert response["Location"] == f"/helpdesk/pass/requests/{item.pk}/"
    return item


def show(desk, item):
    return desk.post(f"/helpdesk/pass/requests/{item.pk}/", {"action": "show"})


def approve(client, item):
    return client.post(f"/helpdesk/pass/requests/{item.pk}/", {"action": "approve"})


def test_an_administrator_account_needs_a_second_person(desk, approver_desk, admin_person):
    page = desk.get(f"/helpdesk/pass/users/{admin_person.pk}/").content.decode()
    assert 'id="two-people"' in page
    item = ask(desk, admin_person)
    # Not shown before approval, however asked.
    waiting = desk.get(f"/helpdesk/pass/requests/{item.pk}/")
    assert not PASS_PATTERN.search(waiting.content.decode())
    refused = show(desk, item)
    assert refused.status_code == 302
    assert not PASS_PATTERN.search(desk.get(refused["Location"]).content.decode())
    item.refresh_from_db()
    assert item.issued_at is None and item.digest is None
    # Nothing to the person yet: only the approvers hear that a request waits.
    assert all("waits for your approval" in m.subject for m in mail.outbox)

    # The approvers see it waiting, and approve.
    listing = approver_desk.get("/helpdesk/pass/approvals/").content.decode()
    assert f"/helpdesk/pass/requests/{item.pk}/" in listing
    assert approve(approver_desk, item).status_code == 302
    value = the_pass(show(desk, item))
    assert use_pass(Client(), "ada", value).status_code == 302
    kinds = list(
        Event.objects.filter(subject=admin_person).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds[:3] == [
        EventKind.ACCESS_PASS_REQUESTED,
        EventKind.ACCESS_PASS_APPROVED,
        EventKind.ACCESS_PASS_ISSUED,
    ]
    approved = Event.objects.get(kind=EventKind.ACCESS_PASS_APPROVED)
    assert approved.actor.username == "boss"
    # Shown once only.
    assert not PASS_PATTERN.search(show(desk, item).content.decode())


def test_the_requester_cannot_approve_their_own_request(make_user, admin_person):
    both = make_user("carol", password=None)
    both.groups.add(helpdesk_group(), approvers_group())
    desk = past_sign_in_check(Client(), both)
    item = ask(desk, admin_person)
    response = approve(desk, item)
    assert response.status_code == 400
    assert "Someone else must approve" in response.content.decode()
    item.refresh_from_db()
    assert item.approved_at is None


def test_an_agent_who_is_no_administrator_cannot_approve(desk, make_user, admin_person):
    other = make_user("dave", password=None)
    other.groups.add(helpdesk_group())
    other_desk = past_sign_in_check(Client(), other)
    item = ask(desk, admin_person)
    # The page is not even theirs to read.
    assert approve(other_desk, item).status_code == 404
    item.refresh_from_db()
    assert item.approved_at is None


def test_the_person_cannot_approve_a_pass_for_themselves(desk, make_user):
    boss = make_user("boss2", password=None, staff=True)
    boss.groups.add(approvers_group())
    item = ask(desk, boss)
    response = approve(past_sign_in_check(Client(), boss), item)
    assert response.status_code == 400
    item.refresh_from_db()
    assert item.approved_at is None


def test_approval_lapses_after_fifteen_minutes(desk, approver_desk, admin_person):
    item = ask(desk, admin_person)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        response = approve(approver_desk, item)
        assert response.status_code in (200, 400)
        assert not PASS_PATTERN.search(show(desk, item).content.decode())
    item.refresh_from_db()
    assert item.end_reason == EndReason.APPROVAL_LAPSED and item.approved_at is None
    event = Event.objects.get(subject=admin_person, kind=EventKind.ACCESS_PASS_EXPIRED)
    assert event.details["reason"] == "approval_lapsed"


def test_an_approved_pass_not_shown_in_time_lapses(desk, approver_desk, admin_person):
    item = ask(desk, admin_person)
    approve(approver_desk, item)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        assert not PASS_PATTERN.search(show(desk, item).content.decode())
    item.refresh_from_db()
    assert item.end_reason == EndReason.APPROVAL_LAPSED and item.issued_at is None


def test_the_approver_does_not_see_the_pass(desk, approver_desk, admin_person):
    item = ask(desk, admin_person)
    approve(approver_desk, item)
    # Only the one who asked can show it.
    response = show(approver_desk, item)
    assert not PASS_PATTERN.search(approver_desk.get(response["Location"]).content.decode())
    the_pass(show(desk, item))


@pytest.mark.parametrize("role", ["helpdesk", "approver", "superuser"])
def test_accounts_that_can_issue_or_approve_also_need_two_people(desk, make_user, role):
    colleague = make_user("erin", password=None)
    if role == "helpdesk":
        colleague.groups.add(helpdesk_group())
    elif role == "approver":
        colleague.groups.add(approvers_group())
    else:
        colleague.is_superuser = True
        colleague.save()
    ask(desk, colleague)


def test_ordinary_accounts_need_one_agent(desk, user):
    the_pass(issue(desk, user))
    assert not Event.objects.filter(kind=EventKind.ACCESS_PASS_REQUESTED).exists()


def test_a_pass_asked_for_an_ordinary_account_is_not_shown_once_it_is_an_administrator(
    desk, agent, user
):
    """One agent asked for a pass for an ordinary account, and it was not shown then. Before
    it is, the account is made an administrator: what it is when the pass is made decides, so
    nothing is shown and nothing can sign in."""
    from accesspass import flows

    item = flows.request_pass(
        request=None, user=user, agent=agent, verification="in_person", note="Staff card"
    )
    assert not item.needs_approval
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    refused = desk.post(
        f"/helpdesk/pass/requests/{item.pk}/", {"action": "show"}, follow=True
    ).content.decode()
    assert "now needs a Helpdesk administrator" in refused, refused[:3000]
    assert not PASS_PATTERN.search(refused)
    item.refresh_from_db()
    assert item.issued_at is None and item.digest is None
    assert not Event.objects.filter(kind=EventKind.ACCESS_PASS_ISSUED).exists()


def test_approvers_hear_of_a_waiting_request_and_find_it_in_the_menu(
    desk, approver, approver_desk, admin_person, agent
):
    mail.outbox.clear()
    item = ask(desk, admin_person)
    waiting = [m for m in mail.outbox if "waits for your approval" in m.subject]
    # The approver, not the agent who asked nor the person the pass is for.
    assert [m.to for m in waiting] == [[approver.email]]
    assert "/helpdesk/pass/approvals/" in waiting[0].body
    assert "ada" in waiting[0].subject and "agent" in waiting[0].body
    assert not PASS_PATTERN.search(waiting[0].body)
    assert item.digest is None  # nothing to leak: the pass is made only when shown
    # The menu links the approvals for those who may approve, and only for them.
    assert 'href="/helpdesk/pass/approvals/"' in approver_desk.get("/helpdesk/").content.decode()
    assert 'href="/helpdesk/pass/approvals/"' not in desk.get("/helpdesk/").content.decode()


def test_an_ordinary_account_asks_nobody(desk, approver, make_user):
    person = make_user("bob")
    mail.outbox.clear()
    issue(desk, person)
    assert not [m for m in mail.outbox if "waits for your approval" in m.subject]


def test_the_issue_page_says_a_new_request_replaces_the_waiting_one(desk, admin_person):
    """With a request waiting, the page says a new one ends it, and so does its button."""
    page = desk.get(f"/helpdesk/pass/users/{admin_person.pk}/").content.decode()
    assert ">Ask for approval</button>" in page
    ask(desk, admin_person)
    page = desk.get(f"/helpdesk/pass/users/{admin_person.pk}/").content.decode()
    assert "A pass for this person is waiting for approval. A new request ends it." in page
    assert ">Ask for approval of a new pass</button>" in page


def test_a_request_sent_twice_asks_once(desk, admin_person):
    """The request form sent again (pressed twice, or sent again from the browser's history)
    leads to the first request, waiting, instead of replacing it with a second one."""
    import re

    page = desk.get(f"/helpdesk/pass/users/{admin_person.pk}/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {"verification": "in_person", "note": "Known voice", "form_token": token}
    first = desk.post(f"/helpdesk/pass/users/{admin_person.pk}/", data)
    again = desk.post(f"/helpdesk/pass/users/{admin_person.pk}/", data)
    assert again["Location"] == first["Location"]
    (item,) = AccessPass.objects.filter(user=admin_person)
    assert item.ended_at is None
    text = desk.get(again["Location"]).content.decode()
    assert "Waiting for a Helpdesk administrator" in text and "sent already" not in text


def test_a_request_nobody_can_approve_is_refused_beforehand(desk, make_user):
    """The only Helpdesk administrator is the person: the issue page says beforehand that
    nobody can approve, and a request is refused with that reason; nothing is stored."""
    AccessPass.objects.all().delete()
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="boss").delete()
    ken = make_user("ken", password=None, staff=True)
    ken.groups.add(approvers_group())
    page = desk.get(f"/helpdesk/pass/users/{ken.pk}/").content.decode()
    assert "Nobody can approve a pass for this account" in page
    assert "Ask for approval" not in page  # no form that could only be refused
    response = issue(desk, ken)
    assert response.status_code == 200
    assert "Nobody can approve a pass for this account" in response.content.decode()
    assert not AccessPass.objects.filter(user=ken).exists()
    # In the agent's language, as every other line of the page (it was fixed at start-up).
    german = desk.get(f"/helpdesk/pass/users/{ken.pk}/", HTTP_ACCEPT_LANGUAGE="de")
    assert german.status_code == 200
    assert "Nobody can approve" not in german.content.decode()
    assert "Niemand kann" in german.content.decode()


def test_a_check_whose_method_changed_since_grounds_no_approval_or_pass(
    desk, approver_desk, admin_person
):
    """The agent checks Ada with her phone and asks for a pass on that check. Before the
    approval her phone is replaced, and the new one cools off: the check grounds nothing now.
    The approver is told so and approves nothing; nor is a pass shown later."""
    from methods.models import AuthenticationPhone, ChangeAction, MethodChange
    from tests.support.codes import last_phone_code

    AuthenticationPhone.objects.create(
        user=admin_person,
        number="+447400123456",
        verified_at=timezone.now() - datetime.timedelta(days=30),
    )
    verify = f"/helpdesk/users/{admin_person.pk}/verify/"
    assert desk.post(verify, {"method": "phone"})["Location"] == f"{verify}code/"
    desk.post(f"{verify}code/", {"code": last_phone_code()})
    asked = issue(desk, admin_person, verification="caller_check", note="Code read back")
    assert asked.status_code == 302, asked.content.decode()[:2000]
    item = AccessPass.objects.get(user=admin_person, ended_at__isnull=True)
    assert item.check_method == "authentication_phone"

    MethodChange.objects.create(
        user=admin_person,
        method="authentication_phone",
        action=ChangeAction.REPLACED,
        cooling_until=timezone.now() + datetime.timedelta(hours=24),
    )
    refused = approve(approver_desk, item)
    text = refused.content.decode()
    assert "The caller check this pass was asked for with counts no more" in text
    item.refresh_from_db()
    assert item.approved_at is None
    # Approved before the change, it is still not shown after it.
    AccessPass.objects.filter(pk=item.pk).update(
        approved_at=timezone.now(), approved_by=approver_desk.session["_auth_user_id"]
    )
    shown = show(desk, item)
    assert not PASS_PATTERN.search(desk.get(shown["Location"]).content.decode())
    item.refresh_from_db()
    assert item.issued_at is None
