"""Lifting a pause or a block on an account that matters takes two people (docs/security.md
rule 50, helpdesk/second_person.py): as for a temporary access pass, one agent alone cannot
open an administrator's or an agent's self-service to whoever fooled them."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client

from audit.models import Event, EventKind
from helpdesk import second_person
from methods.models import BlockReason, SelfServiceBlock
from passwordreset import flows as reset_flows
from tests.support.access_passes import approvers_group, helpdesk_group
from tests.support.people import past_sign_in_check

pytestmark = pytest.mark.django_db

ACTIONS = {
    "resume": ("resume/", "resume-verification", EventKind.SELF_SERVICE_CLEARED),
    "block": ("reset-block/", "block-verification", EventKind.RESET_BLOCK_LIFTED),
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def desk(make_user, name: str, *, approves: bool = False) -> tuple[Client, object]:
    agent = make_user(name, password=None)
    agent.groups.add(approvers_group() if approves else helpdesk_group())
    return past_sign_in_check(Client(), agent), agent


def pause_or_block(action: str, user) -> None:
    if action == "resume":
        SelfServiceBlock.objects.create(user=user, reason=BlockReason.NOT_ME)
    else:
        key = reset_flows._account_key(user.get_username())
        cache.set(reset_flows._blocked_key(key), time.time() + 3600, 3600)


def still_held(action: str, user) -> bool:
    if action == "resume":
        return SelfServiceBlock.objects.filter(user=user).exists()
    return reset_flows.reset_blocked_until(user) is not None


def press(client: Client, action: str, user):
    path, field, _kind = ACTIONS[action]
    return client.post(f"/helpdesk/users/{user.pk}/{path}", {field: "in_person"}, follow=True)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", ["administrator", "superuser", "agent", "approver"])
def test_an_account_that_matters_is_lifted_by_a_second_person_who_may_approve(
    make_user, action, who
):
    if who == "administrator":
        person = make_user("boss", staff=True)
    elif who == "superuser":
        person = make_user("root", is_superuser=True)
        assert not person.is_staff
    else:
        person = make_user("colleague")
        person.groups.add(helpdesk_group() if who == "agent" else approvers_group())
    pause_or_block(action, person)
    first, first_agent = desk(make_user, "first")
    plain, _plain_agent = desk(make_user, "plain")
    approver, approving_agent = desk(make_user, "approver", approves=True)

    page = first.get(f"/helpdesk/users/{person.pk}/").content.decode()
    assert "An account that needs two people" in page
    asked = press(first, action, person).content.decode()
    assert "This account needs a second person" in asked and "Nothing was changed yet" in asked
    assert still_held(action, person)
    ask = Event.objects.get(kind=EventKind.HELPDESK_SECOND_PERSON_ASKED)
    assert ask.actor == first_agent and ask.subject == person
    assert ask.details == {"lift": ACTIONS[action][2].value, "verification": "in_person"}

    # The one who asked, pressing again, is still one person, and asks nothing more.
    again = press(first, action, person).content.decode()
    assert "This was asked for already" in again and still_held(action, person)
    # A second agent who may not approve passes cannot complete it, nor replace the ask.
    refused = press(plain, action, person).content.decode()
    assert "This was asked for already" in refused and still_held(action, person)
    assert Event.objects.filter(kind=EventKind.HELPDESK_SECOND_PERSON_ASKED).count() == 1
    page = approver.get(f"/helpdesk/users/{person.pk}/").content.decode()
    assert "first has asked for this" in page

    own = first.get(f"/helpdesk/users/{person.pk}/").content.decode()
    assert "You have asked for this" in own
    press(approver, action, person)
    assert not still_held(action, person)
    # The page names the colleague who asked, not their number.
    events = approver.get(f"/helpdesk/users/{person.pk}/").content.decode()
    assert "Asked for by: first" in events and "Awaiting approval:" in events
    (event,) = Event.objects.filter(kind=ACTIONS[action][2])
    assert event.actor == approving_agent
    assert event.details["requested_by"] == first_agent.pk
    assert event.details["verification"] == "in_person"
    # Sent again (a second click, or Back), it finds nothing to lift, and asks nothing.
    done = press(approver, action, person).content.decode()
    assert "nothing was changed" in done
    assert Event.objects.filter(kind=EventKind.HELPDESK_SECOND_PERSON_ASKED).count() == 1
    # Held again, it takes two people again.
    pause_or_block(action, person)
    press(approver, action, person)
    assert still_held(action, person)


@pytest.mark.parametrize("action", ACTIONS)
def test_an_ask_lifts_only_the_pause_or_block_it_was_made_for(make_user, action, monkeypatch):
    """An ask for one pause or block never lifts the next, whoever sets it; nor does a press
    with nothing to lift leave an ask behind."""
    person = make_user("boss", staff=True)
    first, _ = desk(make_user, "first")
    approver, _ = desk(make_user, "approver", approves=True)
    nothing = press(first, action, person).content.decode()
    assert "nothing was changed" in nothing
    assert not Event.objects.filter(kind=EventKind.HELPDESK_SECOND_PERSON_ASKED).exists()
    pause_or_block(action, person)
    press(first, action, person)
    # Lifted some other way meanwhile (an administrator), then set again.
    if action == "resume":
        SelfServiceBlock.objects.filter(user=person).delete()
    else:
        cache.delete(reset_flows._blocked_key(reset_flows._account_key("boss")))
    later = time.time() + 2
    monkeypatch.setattr(second_person.time, "time", lambda: later)
    pause_or_block(action, person)
    page = approver.get(f"/helpdesk/users/{person.pk}/").content.decode()
    assert "has asked for this" not in page
    press(approver, action, person)
    assert still_held(action, person)
    # The press asks for the new one: the earlier ask, still within its time, is replaced.
    assert Event.objects.filter(kind=EventKind.HELPDESK_SECOND_PERSON_ASKED).count() == 2


def test_of_two_second_persons_at_once_one_lifts(make_user, monkeypatch):
    person = make_user("boss", staff=True)
    pause_or_block("resume", person)
    first, _ = desk(make_user, "first")
    approver, _ = desk(make_user, "approver", approves=True)
    press(first, "resume", person)
    taken = second_person.take
    # The other second person's request takes the ask just before this one does.
    monkeypatch.setattr(second_person, "take", lambda *args: taken(*args) and False)
    late = press(approver, "resume", person).content.decode()
    assert "A colleague acted on this just now" in late
    assert still_held("resume", person)


@pytest.mark.parametrize("action", ACTIONS)
def test_the_approver_alone_or_after_the_ask_lapsed_is_one_person(make_user, action, monkeypatch):
    person = make_user("boss", staff=True)
    pause_or_block(action, person)
    first, _ = desk(make_user, "first")
    approver, _ = desk(make_user, "approver", approves=True)
    other_approver, _ = desk(make_user, "approver2", approves=True)
    # An approver who asks first needs another approver, as a requester of a pass does.
    press(approver, action, person)
    press(approver, action, person)
    assert still_held(action, person)
    press(first, action, person)
    assert still_held(action, person)
    # Past 15 minutes the ask counts no more: the next press asks again.
    later = time.time() + second_person.ASK_SECONDS + 1
    monkeypatch.setattr(second_person.time, "time", lambda: later)
    press(other_approver, action, person)
    assert still_held(action, person)


def test_an_ordinary_account_is_lifted_by_one_agent(make_user):
    person = make_user("rita")
    pause_or_block("resume", person)
    client, _ = desk(make_user, "first")
    assert (
        "An account that needs two people"
        not in client.get(f"/helpdesk/users/{person.pk}/").content.decode()
    )
    press(client, "resume", person)
    assert not still_held("resume", person)
    assert not Event.objects.filter(kind=EventKind.HELPDESK_SECOND_PERSON_ASKED).exists()
