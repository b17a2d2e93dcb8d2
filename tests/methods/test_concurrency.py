"""A code is single use even when two submissions race (docs/security.md §3)."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from methods.authenticator.models import AuthenticatorDevice
from methods.models import AuthenticationEmail, AuthenticationPhone
from methods.pages import NOT_VERIFIED
from tests.support.codes import last_phone_code
from tests.support.people import sign_in
from tests.support.resets import shows_finish_page


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_simultaneous_submissions_of_one_code_verify_once(user, phone_outbox, attempt):
    first = Client()
    sign_in(first, user.username)
    first.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    code = last_phone_code(phone_outbox)

    # A second browser tab: the same session cookie, its own connection.
    second = Client()
    second.cookies = first.cookies

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(client: Client) -> None:
        try:
            barrier.wait()
            response = client.post("/ssprsetup/phone/verify/", {"code": code})
            outcomes.append(response.get("Location", str(response.status_code)))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Exactly one submission verifies. The other is refused, sent back to sign in when the
    # winner had already rotated the session key, or, when it read the session the winner left
    # (nothing pending, the number verified), led to the overview, which says so: the number
    # is verified once, whichever way the second one went.
    assert len(outcomes) == 2
    assert "/ssprsetup/" in outcomes, outcomes
    # Neither tab is asked for a proof or told its right code is wrong.
    assert all(
        each in ("/ssprsetup/", "/ssprsetup/signin/?next=/ssprsetup/phone/verify/")
        for each in outcomes
    ), outcomes
    assert AuthenticationPhone.objects.filter(user=user, verified_at__isnull=False).count() == 1
    assert Event.objects.filter(subject=user, kind=EventKind.METHOD_VERIFIED).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("registered_before", [False, True], ids=["first method", "a change"])
def test_a_code_sent_from_a_second_tab_while_the_first_verifies_it_leads_to_the_overview(
    user, phone_outbox, monkeypatch, registered_before
):
    """The same right code sent from two tabs at once, the second's request reading the
    session after the first saved the phone but before its answer wrote the session (its new
    key, its proof, nothing pending): the second tab is neither asked to prove who the person
    is (a first method) nor told the code is not right (a change begun with a proof); it leads
    to the overview, which says the phone is verified."""
    from tests.support.registering import prove_with_phone

    first = Client()
    sign_in(first, user.username)
    if registered_before:
        # A phone and an email: a change of the number needs a proof, made before the code.
        AuthenticationPhone.objects.create(
            user=user, number="+447400999000", verified_at=timezone.now()
        )
        AuthenticationEmail.objects.create(
            user=user, email="alice.home@example.net", verified_at=timezone.now()
        )
        prove_with_phone(first, "+447400999000")
    first.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    code = last_phone_code(phone_outbox)
    # The first tab's phone is saved; its answer has not written the session yet.
    answers = _crossing(monkeypatch, first, "/ssprsetup/phone/verify/", {"code": code})
    assert first.post("/ssprsetup/phone/verify/", {"code": code})["Location"] == "/ssprsetup/"
    (crossing,) = answers
    assert crossing["Location"] == "/ssprsetup/", crossing
    # It says the phone is verified (the first tab's answer, later, sets the message shown).
    told = CookieStorage(crossing.wsgi_request)._decode(crossing.cookies["messages"].value)
    assert [str(each) for each in told] == [
        "Authentication phone is already verified: +44 7400 123456."
    ]
    page = first.get("/ssprsetup/").content.decode()  # either tab: one browser
    assert "+44 ••••••••56" in page and "Confirm it is you" not in page
    assert AuthenticationPhone.objects.get(user=user).number == "+447400123456"
    # Verified once: a first phone's event, or a change's.
    kind = EventKind.METHOD_CHANGED if registered_before else EventKind.METHOD_VERIFIED
    assert Event.objects.filter(subject=user, kind=kind).count() == 1


def test_the_proof_page_leads_straight_on_when_the_session_proved_a_moment_ago(user):
    """A proof asked for by a request that crossed the one that made it: nothing is asked."""
    from tests.support.registering import proved_a_moment_ago

    client = Client()
    sign_in(client, user.username)
    proved_a_moment_ago(client)
    answer = client.get("/passwordreset/prove/?next=/ssprsetup/phone/verify/")
    assert answer["Location"] == "/ssprsetup/phone/verify/"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_simultaneous_uses_of_one_authenticator_code_pass_once(make_user, attempt):
    """Two reset attempts send the same app code at the same moment: one passes, the other is
    refused as a replay (docs/security.md §37), on SQLite and on PostgreSQL."""
    from tests.methods.authenticator.test_authenticator import RESET, code_for, set_up
    from tests.support.resets import start_reset

    user = make_user("rita")
    owner = Client()
    sign_in(owner, "rita")
    key = set_up(owner)
    from methods.authenticator.models import AuthenticatorDevice

    AuthenticatorDevice.objects.filter(user=user).update(last_t=-1)
    clients = [Client(), Client()]
    for client in clients:
        assert start_reset(client, "rita").status_code == 302
    code = code_for(key, steps=-1) if time.time() % 30 > 25 else code_for(key)

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(client: Client) -> None:
        try:
            barrier.wait()
            response = client.post(RESET, {"code": code})
            if shows_finish_page(response):
                outcomes.append("passed")
            elif response.status_code == 200 and str(NOT_VERIFIED) in response.content.decode():
                outcomes.append("refused")
            else:
                outcomes.append(f"answered {response.status_code}")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["passed", "refused"], outcomes
    assert Event.objects.filter(subject=user, kind=EventKind.RESET_METHOD_PASSED).count() == 1


def _crossing(monkeypatch, first: Client, path: str, data: dict) -> list:
    """A second tab of `first`'s browser sends `data` to `path` while the first tab's request
    is between saving its method and writing its answer (lifecycle.added): the second tab's
    answer, once the first's request has run, is the one item of the list returned."""
    from methods import lifecycle

    second = Client()
    second.cookies = first.cookies
    answers = []
    added = lifecycle.added

    def crossed(**kwargs):
        if not answers:
            answers.append(second.post(path, data))
        return added(**kwargs)

    monkeypatch.setattr(lifecycle, "added", crossed)
    return answers


@pytest.mark.parametrize("registered_before", [False, True], ids=["first", "replacing"])
def test_an_app_code_sent_from_a_second_tab_while_the_first_confirms_it_leads_to_the_overview(
    user, monkeypatch, registered_before
):
    """As for a phone: the second tab's request read the session before the first's answer
    wrote it. It is neither asked for a proof (a first method) nor told its key was replaced
    and shown a new one to add (replacing an app), which would lead the person to replace the
    app that works; it leads to the overview."""
    from tests.methods.authenticator.test_authenticator import SETUP, code_for, page_key, set_up

    first = Client()
    sign_in(first, user.username)
    if registered_before:
        set_up(first)
    key = page_key(first.get(SETUP).content.decode())
    code = code_for(key)
    answers = _crossing(monkeypatch, first, SETUP, {"code": code})
    assert first.post(SETUP, {"code": code})["Location"] == "/ssprsetup/"
    (crossing,) = answers
    assert crossing.status_code == 302 and crossing["Location"] == "/ssprsetup/", crossing
    told = CookieStorage(crossing.wsgi_request)._decode(crossing.cookies["messages"].value)
    assert [str(each) for each in told] == ["Authenticator app set up."]
    # One app, the one whose key the page showed, and no other key waiting.
    (device,) = AuthenticatorDevice.objects.filter(user=user)
    assert device.confirmed and device.bin_key.hex() == key


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_sessions_confirming_their_own_app_keys_at_once_both_get_an_answer(make_user, attempt):
    """A laptop and a phone each setting up an app, confirmed at the same moment: each answer
    is a page (on PostgreSQL neither waits on the other's key into a deadlock), one app is set
    up, and the other is not told its code was wrong."""
    from tests.methods.authenticator.test_authenticator import SETUP, code_for, page_key

    user = make_user("rita")
    clients = [Client(), Client()]
    codes = []
    for client in clients:
        sign_in(client, "rita")
        codes.append(code_for(page_key(client.get(SETUP).content.decode())))
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    pages: list[str] = []

    def confirm(client: Client, code: str) -> None:
        try:
            client.raise_request_exception = False
            barrier.wait()
            answer = client.post(SETUP, {"code": code})
            statuses.append(answer.status_code)
            pages.append(answer.get("Location") or answer.content.decode())
        finally:
            connection.close()

    pairs = zip(clients, codes, strict=True)
    threads = [threading.Thread(target=confirm, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(statuses) == 2 and all(status < 500 for status in statuses), statuses
    assert AuthenticatorDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert "/ssprsetup/" in pages
    # The other: its key was replaced (by the one set up), with a new key to add; or, its
    # request reaching the page once the app counted, a proof first, as any change now needs.
    (other,) = [page for page in pages if page != "/ssprsetup/"]
    assert other.startswith("/passwordreset/prove/") or (
        "This key was replaced, so the code was not checked" in other
    ), other
