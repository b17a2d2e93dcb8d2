"""One-time recovery codes (methods/recovery_codes): ten codes shown once, stored as keyed
hashes, each spent once at /passwordreset, a new set replacing the old, counted as one method
and never alone for an administrator account unless the policy says so."""

from __future__ import annotations

import math
import re
import threading
from urllib.parse import unquote

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from audit.models import Event, EventKind
from helpdesk.status import Row, directory
from methods.recovery_codes import codes
from methods.recovery_codes.models import RecoveryCode
from methods.registry import REGISTRY, UserMethods
from methods.reset_rule import ResetRule
from registration.flows import registration_status
from tests.support.at_once import another_window
from tests.support.people import sign_in
from tests.support.resets import shows_finish_page, start_reset, without_tokens

SETUP = "/ssprsetup/recovery-codes/"
RESET = "/passwordreset/recovery-codes/"
CODE = re.compile(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>")
NOT_VERIFIED = "We could not verify you with that."


@pytest.fixture(autouse=True)
def _enabled(policy):
    policy.set_option("recovery_codes", "enabled", True)
    policy.save()


def replacing(client: Client) -> dict:
    """The set page's form as drawn: the stamp of the set it replaces."""
    page = client.get(SETUP).content.decode()
    return {"replacing": re.search(r'name="replacing" value="(\d+)"', page).group(1)}


def make_codes(client: Client) -> list[str]:
    response = client.post(SETUP, replacing(client))
    assert response.status_code == 200
    return CODE.findall(response.content.decode())


@pytest.fixture
def owner(make_user):
    return make_user("owner", email="owner@example.org")


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    sign_in(client, "owner")
    return client


def test_ten_codes_of_at_least_50_bits_are_shown_once_and_stored_only_hashed(
    owner, owner_client, db
):
    page = owner_client.get(SETUP).content.decode()
    assert not CODE.findall(page) and "no recovery codes that work" in page
    response = owner_client.post(SETUP, replacing(owner_client))
    html = response.content.decode()
    shown = CODE.findall(html)
    assert len(shown) == len(set(shown)) == 10
    assert codes.LENGTH * math.log2(len(codes.ALPHABET)) >= 50
    # The text download holds the same codes, without another request to the server.
    download = re.search(r'href="(data:text/plain[^"]+)" download="recovery-codes.txt"', html)
    assert all(code in unquote(download.group(1)) for code in shown)
    assert re.search(r"Made \d{4}-\d\d-\d\d \d\d:\d\d [A-Z]{2,5}\.", unquote(download.group(1)))
    assert "Copy the codes" in html and "Print" in html
    # Nothing stores a code: not the table, not the session, not the audit trail.
    stored = list(RecoveryCode.objects.filter(user=owner).values_list("digest", flat=True))
    assert len(stored) == 10
    session = str(dict(owner_client.session))
    audit = str(list(Event.objects.values_list("details", flat=True)))
    for code in shown:
        plain = codes.normalise(code)
        assert all(plain not in digest for digest in stored)
        assert code not in session and plain not in session
        assert code not in audit and plain not in audit
    # Shown once: the page afterwards says how many are left, not which.
    again = owner_client.get(SETUP).content.decode()
    assert not CODE.findall(again) and "You have 10 recovery codes left." in again
    event = Event.objects.get(kind=EventKind.METHOD_VERIFIED, subject=owner)
    assert event.details == {"method": "recovery_codes", "count": 10}
    assert [message.to for message in mail.outbox] == [["owner@example.org"]]


def test_a_new_set_whose_notice_cannot_even_be_held_is_not_kept(owner, owner_client, monkeypatch):
    """The notice of a new set can be neither queued nor held (the database away as it is
    written): the answer is the "temporarily unavailable" page, which shows no codes and says
    nothing was saved; and nothing was: the earlier codes still work, no change recorded."""
    from django.db import OperationalError

    from delivery import outbox

    old = make_codes(owner_client)
    form = replacing(owner_client)

    def away(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(outbox, "send", away)
    owner_client.raise_request_exception = False
    answer = owner_client.post(SETUP, form)
    monkeypatch.undo()
    assert answer.status_code == 503 and not CODE.findall(answer.content.decode())
    assert not Event.objects.filter(kind=EventKind.METHOD_CHANGED, subject=owner).exists()
    assert codes.spend(owner.pk, old[0])


def test_a_new_set_replaces_the_old_with_a_notice(owner, owner_client):
    old = make_codes(owner_client)
    mail.outbox.clear()
    new = make_codes(owner_client)
    assert not set(old) & set(new)
    assert RecoveryCode.objects.filter(user=owner).count() == 10
    assert Event.objects.filter(kind=EventKind.METHOD_CHANGED, subject=owner).count() == 1
    assert len(mail.outbox) == 1 and "changed" in mail.outbox[0].body
    assert not codes.spend(owner.pk, old[0])
    assert codes.spend(owner.pk, new[0])


def test_the_form_sent_again_makes_no_second_set(owner, owner_client):
    """A reload of the page that showed the codes sends its form again: no new set, no
    notice, and the codes shown keep working; the page says so."""
    form = replacing(owner_client)
    shown = CODE.findall(owner_client.post(SETUP, form).content.decode())
    mail.outbox.clear()
    again = owner_client.post(SETUP, form, follow=True).content.decode()
    assert not CODE.findall(again) and "Nothing new was made" in again
    assert not mail.outbox
    assert codes.spend(owner.pk, shown[0])


def test_a_second_tab_opened_before_a_new_set_makes_none_and_says_why(owner, owner_client):
    """Two tabs on the page: the first makes a set; the second's press, drawn over the state
    before, makes none, and the page names the other window rather than "sent already"."""
    make_codes(owner_client)
    first, second = replacing(owner_client), replacing(owner_client)
    shown = CODE.findall(owner_client.post(SETUP, first).content.decode())
    mail.outbox.clear()
    page = owner_client.post(SETUP, second, follow=True).content.decode()
    assert not CODE.findall(page)
    assert "changed after this page was opened (in another window" in page
    assert not mail.outbox
    assert codes.spend(owner.pk, shown[0])


def test_a_code_proves_its_owner_at_reset_once(owner, owner_client):
    shown = make_codes(owner_client)
    reset = Client()
    start_reset(reset, "owner")
    assert RESET in reset.get("/passwordreset/methods/").content.decode()
    page = reset.get(RESET)
    assert page.status_code == 200 and 'name="proof"' in page.content.decode()
    response = reset.post(RESET, {"proof": shown[0].upper().replace("-", " ")})
    assert shows_finish_page(response)
    # Proven (the policy asks for one method): the portal moves on to the new password.
    assert reset.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"
    # Spent: a second attempt with the same code is refused; another code still works.
    again = Client()
    start_reset(again, "owner")
    refused = again.post(RESET, {"proof": shown[0]})
    assert NOT_VERIFIED in refused.content.decode()
    assert shows_finish_page(again.post(RESET, {"proof": shown[1]}))
    assert codes.left(owner) == 8


def test_a_wrong_code_gets_the_same_answer_for_every_account(owner, owner_client, make_user):
    make_codes(owner_client)
    make_user("other")
    answers = {}
    for name in ("owner", "other", "nobody"):
        client = Client()
        start_reset(client, name)
        response = client.post(RESET, {"proof": "abcd-efgh-jkmn"})
        body = response.content.decode()
        # The same status, refusal, page (less its tokens), headers and cookies set.
        page = re.sub(r'value="[^"]{20,}"|data-seconds-left="\d+"', "", without_tokens(body))
        answers[name] = (
            response.status_code,
            NOT_VERIFIED in body,
            page,
            sorted(response.headers),
            sorted(response.cookies),
        )
    assert answers["owner"] == answers["other"] == answers["nobody"]
    assert codes.left(owner) == 10


@pytest.mark.parametrize("typed", ["", "x" * 41, "abcd-efgh", "0000-0000-0000", "abcd-efgh-jk2!"])
def test_badly_typed_codes_get_a_message_by_the_field_and_change_nothing(owner, typed):
    client = Client()
    start_reset(client, "owner")
    response = client.post(RESET, {"proof": typed})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Enter one recovery code" in body and 'id="id_proof_error"' in body
    assert not Event.objects.filter(kind=EventKind.RESET_METHOD_FAILED).exists()


def test_the_owner_sees_how_many_are_left_and_is_warned_at_two(owner, owner_client, policy):
    shown = make_codes(owner_client)
    for code in shown[:7]:
        assert codes.spend(owner.pk, code)
    page = owner_client.get(SETUP).content.decode()
    assert "You have 3 recovery codes left." in page and "Make a new set soon" not in page
    assert codes.spend(owner.pk, shown[7])
    page = owner_client.get(SETUP).content.decode()
    assert "You have 2 recovery codes left." in page and "Make a new set soon" in page
    status = REGISTRY["recovery_codes"].status(UserMethods.load(owner), policy)
    assert "2 left" in status.value and "new set soon" in status.value
    overview = owner_client.get("/ssprsetup/").content.decode()
    assert "2 left: make a new set soon" in overview and "recovery codes: 2" not in overview
    for code in shown[8:]:
        assert codes.spend(owner.pk, code)
    assert not REGISTRY["recovery_codes"].status(UserMethods.load(owner), policy).counts


def test_the_helpdesk_sees_how_many_are_left_never_the_codes(
    owner, owner_client, policy, helpdesk_client
):
    shown = make_codes(owner_client)
    codes.spend(owner.pk, shown[0])
    row = Row.of(directory(policy).get(pk=owner.pk), ResetRule.of(policy))
    assert {key: masked for key, _label, masked in row.methods}["recovery_codes"] == "9 left"
    page = helpdesk_client.get(f"/helpdesk/users/{owner.pk}/").content.decode()
    assert "Recovery codes: 9 left" in page and "recovery codes: 9" not in page


def test_they_count_as_one_method_never_alone_for_an_administrator(make_user, policy):
    person, admin = make_user("person"), make_user("boss", staff=True)
    codes.make_set(person)
    codes.make_set(admin)
    policy.reset_methods_required = policy.methods_required = 1
    policy.save()
    assert registration_status(user=person, policy=policy).can_finish
    assert not registration_status(user=admin, policy=policy).can_finish
    # Unless the policy says so.
    policy.set_option("recovery_codes", "privileged_alone", True)
    policy.save()
    assert registration_status(user=admin, policy=policy).can_finish


def race(make_user) -> None:
    owner = make_user("owner")
    code = codes.make_set(owner)[0][0]
    barrier = threading.Barrier(2)
    won: list[bool] = []

    def use() -> None:
        try:
            barrier.wait()
            won.append(codes.spend(owner.pk, code))
        finally:
            connection.close()

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(won) == [False, True]
    assert RecoveryCode.objects.filter(user=owner, used_at__isnull=False).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_simultaneous_uses_of_one_code_pass_once(make_user, attempt):
    """One conditional update spends a code: of two uses at the same moment, one wins (on
    whichever database the run uses: SQLite, and PostgreSQL in the services pass)."""
    race(make_user)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_simultaneous_uses_of_one_code_pass_once_on_postgresql(make_user, attempt):
    assert connection.vendor == "postgresql"
    race(make_user)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(2))
def test_one_form_sent_twice_at_once_makes_one_set(make_user, attempt):
    """Two presses of one form at the same moment: one set is made and shown, the other
    answer makes none, so the codes shown are the ones that work (SQLite here, PostgreSQL in
    the services pass)."""
    from tests.support.at_once import at_once

    owner = make_user("owner")
    _left, stamp = codes.standing(owner)
    made = at_once(lambda: codes.make_set(owner, replacing=stamp))
    assert sorted(result is None for result in made) == [False, True]
    (shown, _replaced) = next(result for result in made if result is not None)
    assert RecoveryCode.objects.filter(user=owner).count() == 10
    assert codes.spend(owner.pk, shown[0])


def test_a_form_drawn_without_a_stamp_makes_its_set(owner, owner_client):
    """A page drawn before forms carried a stamp still makes codes when sent."""
    assert len(CODE.findall(owner_client.post(SETUP, {}).content.decode())) == 10


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_windows_of_one_reset_sending_two_codes_at_once_spend_one(make_user, attempt):
    """Two windows of one attempt, each sending a different right code at the same moment:
    one is checked and spent, the other is not checked, so the person keeps it."""
    from tests.support.at_once import at_once

    owner = make_user("owner")
    shown = codes.make_set(owner)[0]
    browser = Client()
    start_reset(browser, "owner")
    typed = iter(shown[:2])
    answers = at_once(lambda: another_window(browser).post(RESET, {"proof": next(typed)}))
    assert len(answers) == 2
    assert codes.left(owner) == 9
    assert Event.objects.filter(kind=EventKind.RESET_METHOD_PASSED).count() == 1


def test_a_code_sent_while_another_window_checks_one_is_not_checked(owner, owner_client):
    """While the attempt's recovery code is being checked in another window, a code sent from
    this one is not checked, spent or counted; the page says so, and the same code works once
    that window's check has failed."""
    from django.core.cache import cache

    shown = make_codes(owner_client)
    window = Client()
    start_reset(window, "owner")
    attempt = window.get(RESET).context["request"].reset_attempt
    claim = f"sspr:reset:proving:{attempt}:recovery_codes"
    cache.set(claim, 1)
    response = window.post(RESET, {"proof": shown[0]}, follow=True)
    assert "being checked in another window of this reset" in response.content.decode()
    assert codes.left(owner) == 10
    assert not Event.objects.filter(
        kind__in=(EventKind.RESET_METHOD_PASSED, EventKind.RESET_METHOD_FAILED)
    ).exists()
    cache.delete(claim)  # that window's check failed
    assert shows_finish_page(window.post(RESET, {"proof": shown[0]}))
    assert codes.left(owner) == 9


def test_a_pass_another_window_made_is_kept_where_its_answer_was_not(owner, owner_client):
    """Another window of the attempt passed a code, but this browser kept another answer's
    session (or that answer was lost): a code sent here is not checked or spent; the attempt
    takes the pass as made and leads on."""
    from django.core.cache import cache

    shown = make_codes(owner_client)
    window = Client()
    start_reset(window, "owner")
    attempt = window.get(RESET).context["request"].reset_attempt
    cache.set(f"sspr:reset:proved:{attempt}:recovery_codes", 1)
    response = window.post(RESET, {"proof": shown[0]})
    assert response["Location"] == "/passwordreset/finish/"
    assert codes.left(owner) == 10
    assert window.get("/passwordreset/finish/").status_code == 200


def test_a_pass_whose_record_failed_leaves_the_method_usable(owner, owner_client, monkeypatch):
    """The check passed but recording the pass failed (the database went away): the answer
    says nothing was saved, and another code then works in the same attempt."""
    from django.db import OperationalError

    from passwordreset import flows

    shown = make_codes(owner_client)
    window = Client(raise_request_exception=False)
    start_reset(window, "owner")
    real = flows.method_passed

    def broken(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(flows, "method_passed", broken)
    assert window.post(RESET, {"proof": shown[0]}).status_code >= 500
    monkeypatch.setattr(flows, "method_passed", real)
    assert shows_finish_page(window.post(RESET, {"proof": shown[1]}))


def test_the_last_code_resets_the_password(owner, owner_client):
    """Using the last code leaves no codes: that is the attempt's own use, not a change to the
    person's methods, and the new password is set (it once read as a method taken off the
    account meanwhile, and the reset was refused)."""
    shown = make_codes(owner_client)
    for code in shown[1:]:
        assert codes.spend(owner.pk, code)
    reset = Client()
    start_reset(reset, "owner")
    assert shows_finish_page(reset.post(RESET, {"proof": shown[0]}))
    assert codes.left(owner) == 0
    new = "lighthouse-copper-kettle-2027"
    done = reset.post("/passwordreset/finish/", {"new_password1": new, "new_password2": new})
    assert "Your password is changed" in done.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(new)
