"""A single-use pass is spent at sign-in by one conditional update: two sign-ins with it at the
same moment, and exactly one gets in (on SQLite here; on PostgreSQL in the services pass)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from accesspass.flows import spend
from accesspass.models import AccessPass
from audit.models import Event, EventKind
from tests.support.access_passes import issue, the_pass, use_pass
from tests.support.at_once import at_once


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_sign_ins_with_one_pass_at_once_let_one_in(desk, user, attempt):
    value = the_pass(issue(desk, user))
    barrier = threading.Barrier(2)
    outcomes: list[int] = []

    def submit() -> None:
        try:
            client = Client()
            barrier.wait()
            outcomes.append(use_pass(client, "alice", value).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == [200, 302], outcomes
    assert AccessPass.objects.get(user=user).uses == 1
    assert Event.objects.filter(subject=user, kind=EventKind.ACCESS_PASS_USED).count() == 1


@pytest.mark.django_db
def test_a_pass_read_before_another_spent_it_cannot_be_spent_again(desk, user):
    the_pass(issue(desk, user))
    first = AccessPass.objects.get(user=user)
    second = AccessPass.objects.get(user=user)  # read by a second request at the same time
    assert spend(first) is True
    assert spend(second) is False


@pytest.mark.django_db(transaction=True)
def test_one_issue_form_sent_three_times_at_once_opens_one_pass(desk, user):
    """Two clicks, or a proxy's retry, send the same issue form at the same moment: one pass is
    opened and shown, once; the other answers say nothing new was issued, so the agent never
    reads out a pass that another request has already ended."""
    import re

    from tests.support.access_passes import PASS_PATTERN

    page = desk.get(f"/helpdesk/pass/users/{user.pk}/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {"verification": "in_person", "note": "Saw her staff card", "form_token": token}

    def submit() -> str:
        client = Client()
        client.cookies = desk.cookies
        return client.post(f"/helpdesk/pass/users/{user.pk}/", data, follow=True).content.decode()

    pages = at_once(submit, count=3)
    shown = [found.group(1) for text in pages if (found := PASS_PATTERN.search(text))]
    assert len(pages) == 3 and len(shown) == 1, pages
    assert sum("This form was sent already" in text for text in pages) == 2
    assert AccessPass.objects.filter(user=user).count() == 1
    assert Event.objects.filter(subject=user, kind=EventKind.ACCESS_PASS_ISSUED).count() == 1
    assert use_pass(Client(), "alice", shown[0]).status_code == 302


def _checked_by_email(desk: Client, person, *, registered: bool = False) -> None:
    """The agent checks the caller with a code sent to the person's email address (registered
    here first, unless `registered`)."""
    from django.utils import timezone

    from methods.models import AuthenticationEmail
    from tests.support.codes import last_email_code

    if not registered:
        AuthenticationEmail.objects.create(
            user=person, email=f"{person.username}.home@example.net", verified_at=timezone.now()
        )
    desk.post(f"/helpdesk/users/{person.pk}/verify/", {"method": "email"})
    checked = desk.post(f"/helpdesk/users/{person.pk}/verify/code/", {"code": last_email_code()})
    assert checked.status_code == 200 and "verified" in checked.content.decode().lower()


def _second_tab(desk: Client) -> Client:
    """Another tab of the agent's browser that read the session before the first tab's pass was
    issued: the same signed-in session, with the caller check still in it."""
    from importlib import import_module

    from django.conf import settings

    copy = import_module(settings.SESSION_ENGINE).SessionStore()
    copy.update(dict(desk.session.items()))
    copy.save()
    tab = Client()
    tab.cookies[settings.SESSION_COOKIE_NAME] = copy.session_key
    return tab


@pytest.mark.django_db
def test_one_caller_check_issues_one_pass_from_two_tabs(desk, user):
    """The agent checked the caller once and has the issue form open in two tabs, each read
    before either was sent: the first gives a pass; the second issues nothing, says why, and
    leaves the first pass working (a second pass would have ended the first, which the agent
    may be reading out)."""
    _checked_by_email(desk, user)
    other_tab = _second_tab(desk)
    shown = the_pass(issue(desk, user, verification="caller_check", note="Read back the code"))
    refused = issue(other_tab, user, verification="caller_check", note="Read back the code")
    assert refused.status_code == 200
    assert "A pass was asked for on this caller check already" in refused.content.decode()
    assert AccessPass.objects.filter(user=user).count() == 1
    assert Event.objects.filter(subject=user, kind=EventKind.ACCESS_PASS_ISSUED).count() == 1
    assert use_pass(Client(), user.username, shown).status_code == 302
    # The same browser's other tab, sent after the first (one session): it says the same.
    again = issue(desk, user, verification="caller_check", note="Read back the code")
    assert "A pass was asked for on this caller check already" in again.content.decode()
    assert AccessPass.objects.filter(user=user).count() == 1
    # A new check gives a new pass, from either tab.
    _checked_by_email(other_tab, user, registered=True)
    the_pass(issue(other_tab, user, verification="caller_check", note="Checked again"))


@pytest.mark.django_db
def test_a_pass_refused_on_a_caller_check_leaves_the_check_for_the_next_try(
    desk, make_user, approver
):
    """A pass for an administrator needs an approver; with nobody who could approve, the
    request is refused, and the check it named is not spent: once an approver is there, the
    same check asks for the pass."""
    ada = make_user("ada", staff=True)
    _checked_by_email(desk, ada)
    approver.groups.clear()
    refused = issue(desk, ada, verification="caller_check", note="Read back the code")
    assert "Nobody can approve a pass for this account" in refused.content.decode()
    assert not AccessPass.objects.filter(user=ada).exists()
    from tests.support.access_passes import approvers_group

    approver.groups.add(approvers_group())
    asked = issue(desk, ada, verification="caller_check", note="Read back the code")
    assert asked.status_code == 302, asked.content.decode()[:2000]
    assert AccessPass.objects.get(user=ada).check_method == "authentication_email"


@pytest.mark.django_db
def test_a_pass_stopped_by_the_database_leaves_the_check_for_the_next_try(desk, user, monkeypatch):
    """The database fails while the pass is being opened: nothing is issued, and the check is
    not spent on it, so the agent sends the form again without checking the caller again."""
    from django.db import OperationalError

    from accesspass import flows

    _checked_by_email(desk, user)

    def fails(*args, **kwargs):
        raise OperationalError("lock timeout")

    with monkeypatch.context() as patched:
        patched.setattr(flows, "_open", fails)
        with pytest.raises(OperationalError):
            issue(desk, user, verification="caller_check", note="Read back the code")
    assert not AccessPass.objects.filter(user=user).exists()
    the_pass(issue(desk, user, verification="caller_check", note="Read back the code"))
