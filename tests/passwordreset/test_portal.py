"""The reset portal, step by step, through the pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from methods.models import (
    AuthenticationEmail,
    AuthenticationPhone,
    SecurityAnswer,
    SecurityQuestion,
)
from methods.questions.answers import hash_answer, normalise
from passwordreset.views import REPLACED
from tests.support.codes import last_email_code, last_phone_code
from tests.support.people import PASSWORD, past_sign_in_check, sign_in
from tests.support.resets import (
    card_form,
    shows_done_page,
    shows_finish_page,
    shows_methods_page,
    shows_reset_code_page,
    start_reset,
    without_tokens,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"
ATTEMPT_FIELD = re.compile(r'name="attempt" value="([0-9a-f]+)"')


def pass_phone(client, number="+447400123456", channel="sms"):
    response = client.post("/passwordreset/phone/", {"number": number, "channel": channel})
    assert shows_reset_code_page(response)
    return client.post("/passwordreset/phone/code/", {"code": last_phone_code()})


def pass_email(client, address="rita.home@example.net"):
    client.post("/passwordreset/email/", {"email": address})
    return client.post("/passwordreset/email/code/", {"code": last_email_code()})


def give_answers(user, answers=("blue whale", "lisbon", "okafor")):
    questions = list(SecurityQuestion.objects.filter(active=True)[: len(answers)])
    for question, answer in zip(questions, answers, strict=True):
        SecurityAnswer.objects.create(
            user=user, question=question, answer_hash=hash_answer(normalise(answer))
        )
    return dict(zip((q.pk for q in questions), answers, strict=True))


def answer_form(client, answers: dict[int, str]):
    page = client.get("/passwordreset/questions/").content.decode()
    asked = [int(pk) for pk in re.findall(r'name="answer_(\d+)"', page)]
    return asked, {f"answer_{pk}": answers.get(pk, "wrong answer") for pk in asked}


def test_start_page_says_what_happens_without_javascript(client):
    """Without JavaScript the browser reads the <noscript>: what it says, and the field that
    tells the server the check could not run (a browser with JavaScript never sends it)."""
    page = client.get("/passwordreset/").content.decode()
    noscript = re.search(r"<noscript>(.*?)</noscript>", page, re.S)[1]
    assert '<input type="hidden" name="without_script" value="1">' in noscript
    assert "Without JavaScript this check cannot run. You can still continue" in noscript
    assert "<altcha-widget" in page and "<script>" not in page


def _without_script(client: Client, username: str = "rita"):
    """The first page as a browser without JavaScript sends it: no solved check."""
    return client.post(
        "/passwordreset/",
        {"username": username, "action": "reset", "altcha": "", "without_script": "1"},
    )


def test_a_browser_without_javascript_resets_within_its_own_budget(registered, settings):
    """Without the proof-of-work a few starts an hour are allowed from one address; past them
    the page says why, and nothing starts. A start with the check, from the same address,
    still goes on: people with JavaScript do not pay for the budget."""
    settings.SSPR_STARTS_WITHOUT_SCRIPT_PER_IP_PER_HOUR = 2
    first = Client()
    assert shows_methods_page(_without_script(first))
    assert shows_finish_page(pass_phone(first))
    response = first.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert shows_done_page(response)
    assert get_user_model().objects.get(username="rita").check_password(NEW_PASSWORD)
    assert shows_methods_page(_without_script(Client(), "nobody-here"))
    refused = _without_script(Client())
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many resets were started without JavaScript" in page
    # The page no longer invites going on without JavaScript.
    assert "This check needs JavaScript" in page and 'name="without_script"' not in page
    assert Event.objects.filter(kind=EventKind.RESET_STARTED).count() == 2
    # Refusals that cost no proof-of-work are recorded once an hour for an address.
    for _ in range(3):
        assert _without_script(Client()).status_code == 429
    assert (
        Event.objects.filter(
            kind=EventKind.RESET_REFUSED, details__reason="without_script_limited"
        ).count()
        == 1
    )
    assert start_reset(Client(), "rita").status_code == 302


def test_starts_without_javascript_have_a_budget_for_everyone_together(registered, settings):
    """Many addresses together cannot start more than the site's budget without the check;
    one address refused for its own budget does not spend everyone's."""
    settings.SSPR_STARTS_WITHOUT_SCRIPT_PER_IP_PER_HOUR = 1
    settings.SSPR_STARTS_WITHOUT_SCRIPT_PER_HOUR = 2
    assert shows_methods_page(_without_script(Client(REMOTE_ADDR="192.0.2.1")))
    assert _without_script(Client(REMOTE_ADDR="192.0.2.1")).status_code == 429
    assert shows_methods_page(_without_script(Client(REMOTE_ADDR="192.0.2.2")))
    assert _without_script(Client(REMOTE_ADDR="192.0.2.3")).status_code == 429
    assert Event.objects.filter(kind=EventKind.RESET_STARTED).count() == 2


def test_with_everyones_budget_spent_a_persons_tries_keep_their_addresses(registered, settings):
    """A crowd spent the site's budget: the tries of a person without JavaScript are refused
    meanwhile, and do not use up their own address's budget as well."""
    from django.core.cache import cache

    settings.SSPR_STARTS_WITHOUT_SCRIPT_PER_IP_PER_HOUR = 2
    settings.SSPR_STARTS_WITHOUT_SCRIPT_PER_HOUR = 1
    assert shows_methods_page(_without_script(Client(REMOTE_ADDR="192.0.2.1")))
    for _ in range(3):
        assert _without_script(Client(REMOTE_ADDR="192.0.2.2")).status_code == 429
    cache.delete("sspr:reset:without-script:all")  # the hour is over
    settings.SSPR_STARTS_WITHOUT_SCRIPT_PER_HOUR = 10
    # The address's own budget, two, is whole.
    for _ in range(2):
        assert shows_methods_page(_without_script(Client(REMOTE_ADDR="192.0.2.2")))


@pytest.mark.parametrize(
    "budget", ["SSPR_STARTS_WITHOUT_SCRIPT_PER_IP_PER_HOUR", "SSPR_STARTS_WITHOUT_SCRIPT_PER_HOUR"]
)
def test_with_no_budget_the_page_says_the_check_needs_javascript(registered, settings, budget):
    """Starts without the check turned off (0): the page does not invite anyone to go on
    without JavaScript, and a form that says it has none is refused as one without the check."""
    setattr(settings, budget, 0)
    page = Client().get("/passwordreset/").content.decode()
    assert "This check needs JavaScript" in page and 'name="without_script"' not in page
    refused = _without_script(Client())
    assert "automatic check did not finish" in refused.content.decode()
    assert not Event.objects.filter(kind=EventKind.RESET_STARTED).exists()


def test_the_first_page_sent_again_without_javascript_leads_to_its_attempt(registered, settings):
    """A browser without JavaScript reloads the methods page it was given: the form is sent
    again. It leads to the attempt it started, and neither starts nor counts another. Once
    that attempt is under way (a code asked for), the first page sent again is a new start."""
    settings.SSPR_STARTS_WITHOUT_SCRIPT_PER_IP_PER_HOUR = 2
    client = Client()
    first = _without_script(client)
    assert shows_methods_page(first) and shows_methods_page(_without_script(client))
    assert Event.objects.filter(kind=EventKind.RESET_STARTED).count() == 1
    sent = client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    assert shows_reset_code_page(sent)
    again = _without_script(client)
    assert shows_methods_page(again)
    assert Event.objects.filter(kind=EventKind.RESET_STARTED).count() == 2
    assert (
        ATTEMPT_FIELD.search(again.content.decode())[1]
        != (ATTEMPT_FIELD.search(first.content.decode())[1])
    )


@pytest.mark.parametrize("payload", ["", "not-base64", "eyJ9"])
def test_start_without_a_solved_check_changes_nothing(client, registered, payload):
    response = client.post("/passwordreset/", {"username": "rita", "altcha": payload})
    assert response.status_code == 200
    assert "automatic check did not finish" in response.content.decode()
    assert not Event.objects.filter(kind=EventKind.RESET_STARTED).exists()


def test_a_solved_check_works_once(client, registered):
    from passwordreset import captcha

    solution = captcha.solve(client.get("/passwordreset/check/").json())
    assert (
        client.post("/passwordreset/", {"username": "rita", "altcha": solution}).status_code == 302
    )
    other = Client()
    response = other.post("/passwordreset/", {"username": "rita", "altcha": solution})
    assert "automatic check did not finish" in response.content.decode()


def test_a_password_set_elsewhere_during_the_attempt_ends_it_with_nothing_changed(
    client, registered
):
    """The person (or an administrator) sets the password while a reset is under way: what
    the attempt proved was about the account as it was (passwordreset.flows.account_stamp),
    so its last step changes nothing, says why, and the password set stays. Another attempt,
    begun now, resets as usual."""
    assert start_reset(client, "rita")["Location"] == "/passwordreset/methods/"
    assert shows_finish_page(pass_phone(client))
    registered.set_password("Set-by-the-admin-meanwhile-2026")
    registered.save()
    response = client.post(
        "/passwordreset/finish/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "or the account changed hands, since this reset began" in response.content.decode()
    registered.refresh_from_db()
    assert registered.check_password("Set-by-the-admin-meanwhile-2026")
    assert not Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()
    assert Event.objects.filter(
        kind=EventKind.RESET_REFUSED, details__reason="account_changed"
    ).exists()
    # Its steps, opened again, say why it ended.
    again = client.get("/passwordreset/finish/").content.decode()
    assert "the account changed hands, since this reset began" in again
    assert start_reset(client, "rita")["Location"] == "/passwordreset/methods/"
    assert shows_finish_page(pass_phone(client))
    done = client.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert shows_done_page(done)


def test_an_attempt_begun_before_the_stamp_was_kept_still_finishes(client, registered):
    """An attempt kept by a release before the account's stamp (or saved again by one, on a
    host not yet upgraded) has none: it finishes, held only to its name not having been
    given to someone new since it began."""
    from passwordreset import state as reset_state

    assert start_reset(client, "rita")["Location"] == "/passwordreset/methods/"
    assert shows_finish_page(pass_phone(client))
    session = client.session
    session[reset_state.SESSION_KEY].pop("account")
    session.save()
    done = client.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert shows_done_page(done)


def test_reset_with_one_method_sets_the_password_and_tells_the_user(client, registered):
    other_session = Client()
    sign_in(other_session, "rita")
    assert other_session.get("/ssprsetup/").status_code == 200

    assert start_reset(client, "rita")["Location"] == "/passwordreset/methods/"
    # The one method needed passed: the new password's page comes in the answer (the methods
    # page, opened anyway, sends the browser there too).
    assert shows_finish_page(pass_phone(client))
    assert client.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"
    weak = client.post(
        "/passwordreset/finish/", {"new_password1": "short", "new_password2": "short"}
    )
    assert "too short" in weak.content.decode()
    response = client.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert shows_done_page(response)
    # The done page came in the answer; its own address shows it again (a reload).
    assert shows_done_page(client.get("/passwordreset/done/"))

    user = get_user_model().objects.get(username="rita")
    assert user.check_password(NEW_PASSWORD)
    assert user.password.startswith("argon2")
    assert "_auth_user_id" not in client.session  # no automatic sign-in
    assert other_session.get("/ssprsetup/")["Location"].startswith("/ssprsetup/signin/")
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["rita.home@example.net", "rita@example.org"]
    assert all(NEW_PASSWORD not in message.body for message in mail.outbox)
    event = Event.objects.get(kind=EventKind.PASSWORD_RESET)
    assert event.details["methods"] == ["authentication_phone"]


NOTICE_SENT = "We sent a notice to each of your 2 email addresses."


@pytest.mark.parametrize("notify", [True, False])
def test_the_done_page_says_a_notice_went_out_only_when_one_did(client, registered, policy, notify):
    policy.notify_users_on_reset = notify
    policy.save()
    start_reset(client, "rita")
    pass_phone(client)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    done = client.post("/passwordreset/finish/", data)
    assert shows_done_page(done)
    assert bool(mail.outbox) is notify
    for page in (done, client.get("/passwordreset/done/")):  # and when reloaded
        text = page.content.decode()
        assert (NOTICE_SENT in text) is notify
        assert "If you did not do this, contact your helpdesk straight away." in text


def test_the_done_page_says_how_many_addresses_the_notice_went_to(client, registered):
    """The account's own address alone (the personal one removed): "your email address", not
    "your addresses"."""
    AuthenticationEmail.objects.filter(user=registered).delete()
    start_reset(client, "rita")
    pass_phone(client)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    text = client.post("/passwordreset/finish/", data).content.decode()
    assert "We sent a notice to your email address." in text
    assert [message.to for message in mail.outbox] == [["rita@example.org"]]


def test_finished_steps_cannot_be_replayed(client, registered):
    start_reset(client, "rita")
    pass_phone(client)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    client.post("/passwordreset/finish/", data)
    again = client.post("/passwordreset/finish/", data)
    # Not made again: the page says the reset is finished (the attempt is gone).
    assert "This reset is already finished" in again.content.decode()
    assert Event.objects.filter(kind=EventKind.PASSWORD_RESET).count() == 1
    # Reloaded, the done page says the same; once another attempt starts here, it is gone.
    assert shows_done_page(client.get("/passwordreset/done/"))
    start_reset(client, "rita")
    assert client.get("/passwordreset/done/")["Location"] == "/passwordreset/"


def test_a_person_signed_in_here_who_resets_is_signed_out_and_the_done_page_reloads(
    client, registered
):
    """Signed in to the setup in the same browser, the person resets their password: that
    sign-in ends (the new password ends every session), and the done page still reloads."""
    sign_in(client, "rita")
    start_reset(client, "rita")
    pass_phone(client)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    done = client.post("/passwordreset/finish/", data)
    assert shows_done_page(done) and "Signed in as" not in done.content.decode()
    assert shows_done_page(client.get("/passwordreset/done/"))
    assert client.get("/ssprsetup/")["Location"].startswith("/ssprsetup/signin/")


def test_the_done_page_reloads_as_it_was_while_the_attempt_is_recent(client, registered):
    """What the done page said (here: the change had been made by the first press) it says
    again at its own address; later than an attempt's lifetime it leads to the first page."""
    start_reset(client, "rita")
    pass_phone(client)
    before = dict(client.session)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert shows_done_page(client.post("/passwordreset/finish/", data))
    session = client.session
    session.update(before)  # the first answer lost: sent again
    session.pop("sspr_reset_finished", None)
    session.save()
    again = client.post("/passwordreset/finish/", data)
    said = "the password you chose the first time is the one that works"
    assert shows_done_page(again) and said in again.content.decode()
    # Whether the first answer sent a notice is not known here: this one does not claim it.
    assert NOTICE_SENT not in again.content.decode()
    reloaded = client.get("/passwordreset/done/")
    assert shows_done_page(reloaded) and said in reloaded.content.decode()
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert client.get("/passwordreset/done/")["Location"] == "/passwordreset/"


def test_steps_cannot_be_skipped(client, registered):
    assert "Please start again" in client.get("/passwordreset/finish/").content.decode()
    assert "Please start again" in client.get("/passwordreset/methods/").content.decode()
    start_reset(client, "rita", action=None)
    assert client.get("/passwordreset/methods/")["Location"] == "/passwordreset/action/"
    assert client.get("/passwordreset/finish/")["Location"] == "/passwordreset/action/"
    assert client.post("/passwordreset/finish/", {})["Location"] == "/passwordreset/action/"
    client.post("/passwordreset/action/", {"action": "reset"})
    assert client.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post("/passwordreset/finish/", data)["Location"] == "/passwordreset/methods/"
    assert client.get("/passwordreset/phone/code/")["Location"] == "/passwordreset/phone/"
    assert not get_user_model().objects.get(username="rita").check_password(NEW_PASSWORD)


def test_a_reset_expires_after_fifteen_minutes(client, registered):
    start_reset(client, "rita")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert "Please start again" in client.get("/passwordreset/methods/").content.decode()


def test_the_session_key_rotates_after_each_passed_method(client, registered, policy):
    policy.reset_methods_required = 2
    policy.save()
    start_reset(client, "rita")
    keys = [client.session.session_key]
    assert pass_phone(client)["Location"] == "/passwordreset/methods/"  # one more is needed
    keys.append(client.session.session_key)
    assert shows_finish_page(pass_email(client))  # enough: straight on
    keys.append(client.session.session_key)
    assert len(set(keys)) == 3


def test_wrong_number_sends_nothing_and_reads_the_same(client, registered, phone_outbox):
    # The wrong number first, in an attempt of its own: no earlier code's wait can be what
    # kept it from being sent.
    start_reset(client, "rita")
    wrong = client.post("/passwordreset/phone/", {"number": "+447400999999", "channel": "sms"})
    assert phone_outbox == []
    wrong_page = client.get("/passwordreset/phone/code/").content.decode()
    other = Client()
    start_reset(other, "rita")
    right = other.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    assert [message.to for message in phone_outbox] == ["+447400123456"]
    right_page = other.get("/passwordreset/phone/code/").content.decode()
    # Each answer is the code page itself, and the two read the same (but for the tokens).
    assert shows_reset_code_page(wrong) and shows_reset_code_page(right)

    def strip(page):
        return re.sub(r'value="[^"]+"|data-seconds-left="\d+"', "", page)

    assert strip(right.content.decode()) == strip(wrong.content.decode())
    assert strip(right_page) == strip(wrong_page)


@pytest.mark.parametrize("code", ["000000", "12345a", ""])
def test_wrong_codes_are_refused_in_one_sentence(client, registered, code):
    start_reset(client, "rita")
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    right = last_phone_code()
    if code == right:
        code = "111111"
    response = client.post("/passwordreset/phone/code/", {"code": code})
    assert response.status_code == 200
    page = response.content.decode()
    if code in ("111111", "000000"):
        assert "could not verify you" in page
    else:  # a wrong shape, or nothing typed
        assert "Enter the 6 digits" in page
    assert client.get("/passwordreset/methods/").status_code == 200  # not passed


def test_a_method_that_passed_leads_on_from_another_tab(client, registered, policy):
    """A second tab, or the back button, on the page of a method that already passed: on to
    where the attempt stands, saying why, rather than a page that is not there."""
    start_reset(client, "rita")
    pass_phone(client)
    again = client.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert again["Location"] == "/passwordreset/finish/"
    page = client.get("/passwordreset/finish/").content.decode()
    assert "That method has already been checked in this attempt." in page
    policy.reset_methods_required = 2
    policy.save()
    other = Client()
    start_reset(other, "rita")
    pass_phone(other)
    for response in (other.get("/passwordreset/phone/"), other.get("/passwordreset/phone/code/")):
        assert response["Location"] == "/passwordreset/methods/"
    assert "/passwordreset/email/" in other.get("/passwordreset/methods/").content.decode()


def _start_with(client, username, **extra):
    from passwordreset import captcha

    challenge = client.get("/passwordreset/check/").json()
    return client.post(
        "/passwordreset/", {"username": username, "altcha": captcha.solve(challenge), **extra}
    )


def test_what_is_needed_is_asked_with_the_name(client, registered):
    """The first page asks what the person needs, the reset chosen to begin with; the attempt
    then goes straight on to the methods, for every name alike."""
    page = client.get("/passwordreset/").content.decode()
    assert "<legend>What do you need?</legend>" in page
    assert re.search(r'<input type="radio" name="action" value="reset"[^>]* checked>', page)
    assert re.search(r'<input type="radio" name="action" value="unlock"(?![^>]* checked)', page)
    answers = []
    for name in ("rita", "nobody-of-that-name"):
        visitor = Client()
        response = _start_with(visitor, name, action="reset")
        # The methods page comes in the answer, and its own address opens it again.
        assert shows_methods_page(response)
        assert visitor.get("/passwordreset/methods/").status_code == 200
        page = without_tokens(response.text)
        answers.append(re.sub(r'data-seconds-left="\d+"', "", page))  # the attempt's clock
    assert answers[0] == answers[1]
    # Unlock chosen: the last step unlocks (once the methods have proven the person).
    _start_with(client, "rita", action="unlock")
    pass_phone(client)
    page = client.get("/passwordreset/finish/").content.decode()
    assert 'name="new_password1"' not in page and "Unlock" in page


def test_the_methods_page_in_the_first_answer_leads_back_to_its_own_address(client, registered):
    """The methods page as the answer to the first page: its language picker and "More time"
    name the methods page, and a reload of the first page's form (no JavaScript to put the
    address in the bar) starts nothing twice: its solved check is spent, and the answer is the
    same attempt's methods page. Its spent check with another name starts nothing either."""
    from passwordreset import captcha

    sent = {
        "username": "rita",
        "action": "reset",
        "altcha": captcha.solve(client.get("/passwordreset/check/").json()),
    }
    response = client.post("/passwordreset/", sent)
    page = response.content.decode()
    assert shows_methods_page(response)
    assert page.count('name="next" type="hidden" value="/passwordreset/methods/"') == 1
    assert 'name="next" value="/passwordreset/methods/"' in page  # More time
    assert '<script src="/static/js/page-address.js" defer></script>' in page
    assert 'action="/passwordreset/phone/"' in page
    attempt = client.session["sspr_reset"]["attempt"]
    again = client.post("/passwordreset/", sent)
    assert shows_methods_page(again)
    assert client.session["sspr_reset"]["attempt"] == attempt  # the same attempt goes on
    other = client.post("/passwordreset/", {**sent, "username": "someone-else"})
    assert "automatic check did not finish" in other.content.decode()
    assert client.session["sspr_reset"]["attempt"] == attempt
    assert Event.objects.filter(kind=EventKind.RESET_STARTED).count() == 1
    # In another browser the same spent check starts nothing.
    assert "automatic check did not finish" in Client().post("/passwordreset/", sent).text
    assert Event.objects.filter(kind=EventKind.RESET_STARTED).count() == 1


def test_an_action_that_is_not_offered_starts_nothing(client, registered):
    response = _start_with(client, "rita", action="delete-everything")
    assert response.status_code == 200
    page = response.content.decode()
    assert "What do you need? Choose one." in page  # in the summary, linked to the choices
    assert not Event.objects.filter(kind=EventKind.RESET_STARTED).exists()
    assert "Please start again" in client.get("/passwordreset/methods/").content.decode()


def test_a_first_page_sent_without_the_choice_asks_for_it_next(client, registered):
    """A first page from before the choice was on it (kept in a tab) still works."""
    assert _start_with(client, "rita")["Location"] == "/passwordreset/action/"
    assert client.get("/passwordreset/methods/")["Location"] == "/passwordreset/action/"


def test_pages_that_come_in_an_answer_lead_back_to_their_own_address(client, registered):
    """The code page in the answer to the number, and the new password's page in the answer to
    the code: their forms, the attempt's "More time" and the language picker all name the
    page's own address, not the address of the form that brought it."""
    start_reset(client, "rita")
    sent = client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    page = sent.content.decode()
    assert 'action="/passwordreset/phone/code/"' in page
    assert page.count('name="next" type="hidden" value="/passwordreset/phone/code/"') == 1
    assert 'name="next" value="/passwordreset/phone/code/"' in page  # More time
    passed = client.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    page = passed.content.decode()
    assert shows_finish_page(passed) and 'action="/passwordreset/finish/"' in page
    assert 'name="next" value="/passwordreset/finish/"' in page
    # The page sent from there sets the password, as from the page opened at its address.
    done = client.post(
        "/passwordreset/finish/",
        {
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "attempt": re.search(r'name="attempt" value="([^"]+)"', page).group(1),
        },
    )
    assert shows_done_page(done)
    assert get_user_model().objects.get(username="rita").check_password(NEW_PASSWORD)


def test_the_action_page_asks_its_question_once(client, registered):
    """The question is the page's heading and its choices' name at once: a screen reader
    reads it once, not as a heading and again as the group's legend."""
    start_reset(client, "rita", action=None)
    heading = "<legend><h1>What do you need?</h1></legend>"
    main = client.get("/passwordreset/action/").content.decode().split("<main", 1)[1]
    assert main.count("What do you need?") == 1 and heading in main
    # Sent without a choice: the summary names the question, which is still the heading.
    main = client.post("/passwordreset/action/").content.decode().split("<main", 1)[1]
    assert "What do you need? Choose one." in main and heading in main


def _send_form(client) -> dict:
    page = client.get("/passwordreset/phone/").content.decode()
    token = re.search(r'name="form" value="([0-9a-f]+)"', page).group(1)
    return {"number": "+447400123456", "channel": "sms", "form": token}


def test_the_same_send_form_sent_again_asks_for_nothing_while_its_code_is_live(
    client, registered, phone_outbox
):
    """The code page comes in the answer to the number; without JavaScript a reload of it
    sends that form again. Past the wait between codes too, nothing more is asked for, and the
    code on its way is still the one that works."""
    start_reset(client, "rita")
    data = _send_form(client)
    assert shows_reset_code_page(client.post("/passwordreset/phone/", data))
    first = last_phone_code()
    with time_machine.travel(timezone.now() + timedelta(seconds=45)):
        for _ in range(8):  # more than an attempt may ask for: none of them counts
            assert shows_reset_code_page(client.post("/passwordreset/phone/", data))
        assert len(phone_outbox) == 1
        assert shows_finish_page(client.post("/passwordreset/phone/code/", {"code": first}))


def test_the_send_page_opened_again_asks_anew(client, registered, phone_outbox):
    """ "No code? Try again" opens the send page again: that form is a new request (a code that
    did not arrive), and so is the first form with the number corrected."""
    start_reset(client, "rita")
    data = _send_form(client)
    client.post("/passwordreset/phone/", {**data, "number": "+447400999999"})
    client.post("/passwordreset/phone/", data)  # corrected on the same form
    assert [message.to for message in phone_outbox] == ["+447400123456"]
    with time_machine.travel(timezone.now() + timedelta(seconds=45)):
        assert shows_reset_code_page(client.post("/passwordreset/phone/", _send_form(client)))
        assert [message.to for message in phone_outbox] == ["+447400123456"] * 2
        assert shows_finish_page(
            client.post("/passwordreset/phone/code/", {"code": last_phone_code()})
        )


def test_the_code_methods_cards_ask_for_the_number_and_address_on_the_methods_page(
    client, office, policy, phone_outbox
):
    """The phone's, the office phone's and the email's cards carry their first page's form:
    the person types the number there and gets the code page in the answer, without opening
    the phone's page. Each field has an id of its own on the page and a label tied to it."""
    policy.set_option("office", "enabled", True)
    policy.save()
    start_reset(client, "rita")
    page = client.get("/passwordreset/methods/").content.decode()
    phone = card_form(page, "/passwordreset/phone/")
    office_phone = card_form(page, "/passwordreset/office-phone/")
    email = card_form(page, "/passwordreset/email/")
    assert 'name="number"' in phone and 'name="channel"' in phone
    assert 'name="number"' in office_phone and 'name="email"' in email
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # two phone forms, one page: no id twice
    for form in (phone, office_phone, email):
        fields = re.findall(
            r'<(?:select|input type="(?:text|email|radio)")[^>]* id="([^"]+)"', form
        )
        assert fields
        for field in fields:
            assert f'for="{field}"' in form
    token = re.search(r'name="form" value="([0-9a-f]+)"', phone).group(1)
    attempt = ATTEMPT_FIELD.search(phone).group(1)
    sent = client.post(
        "/passwordreset/phone/",
        {"number": "+447400123456", "channel": "sms", "form": token, "attempt": attempt},
    )
    assert shows_reset_code_page(sent)
    assert [message.to for message in phone_outbox] == ["+447400123456"]
    assert shows_finish_page(client.post("/passwordreset/phone/code/", {"code": last_phone_code()}))


def test_the_office_phones_card_and_page_say_it_calls_and_ask_for_the_office_number(
    client, office, policy
):
    """The office phone's code comes only by a call, to a number an administrator set: its
    card and its own page say so, where the phone's (text or call) and the email's send."""
    policy.set_option("office", "enabled", True)
    policy.save()
    start_reset(client, "rita")
    page = client.get("/passwordreset/methods/").content.decode()
    office_phone = card_form(page, "/passwordreset/office-phone/")
    assert "Call me with a code" in office_phone and "Send the code" not in office_phone
    assert "Type your whole office phone number." in office_phone
    assert "you registered" not in office_phone
    for path in ("/passwordreset/phone/", "/passwordreset/email/"):
        card = card_form(page, path)
        assert "Send the code" in card and "you registered" in card
    own_page = client.get("/passwordreset/office-phone/").content.decode()
    assert "Call me with a code</button>" in own_page
    assert "Type your whole office phone number. We do not show it" in own_page
    assert "We call only if what you type is exactly the office phone number" in own_page
    assert "you registered" not in own_page


def test_a_number_typed_wrong_on_the_card_is_told_on_the_methods_own_page(
    client, registered, phone_outbox
):
    """What the card's form cannot read comes back on the phone's own page, the message next
    to the field, and nothing is sent."""
    start_reset(client, "rita")
    card = card_form(
        client.get("/passwordreset/methods/").content.decode(), "/passwordreset/phone/"
    )
    sent = dict(re.findall(r'type="hidden" name="(form|attempt)" value="([^"]+)"', card))
    assert set(sent) == {"form", "attempt"}
    response = client.post(
        "/passwordreset/phone/", {**sent, "region": "GB", "number": "call me", "channel": "sms"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert not shows_reset_code_page(response)
    assert 'aria-invalid="true"' in page and "Enter a phone number using digits" in page
    assert not phone_outbox


def test_a_used_code_does_not_work_twice(client, registered, policy):
    policy.reset_methods_required = 2
    policy.save()
    start_reset(client, "rita")
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    code = last_phone_code()
    client.post("/passwordreset/phone/code/", {"code": code})
    second = Client()
    start_reset(second, "rita")
    second.post("/passwordreset/phone/", {"number": "+447400999999", "channel": "sms"})
    response = second.post("/passwordreset/phone/code/", {"code": code})
    assert "could not verify you" in response.content.decode()


def test_expired_code_is_refused(client, registered):
    start_reset(client, "rita")
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    code = last_phone_code()
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        # The attempt itself lives 15 minutes; the code only 10.
        response = client.post("/passwordreset/phone/code/", {"code": code})
    assert "could not verify you" in response.content.decode()


def test_two_methods_hints_appear_only_after_the_first(client, registered, policy):
    policy.reset_methods_required = 2
    policy.save()
    start_reset(client, "rita")
    before = client.get("/passwordreset/methods/").content.decode()
    assert "••" not in before and "example.net" not in before
    assert "We do not show it" in card_form(before, "/passwordreset/email/")
    # The email's own page, opened before a method passed, shows nothing of the address.
    own_page = client.get("/passwordreset/email/").content.decode()
    assert "example.net" not in own_page and "We do not show it" in own_page
    pass_phone(client)
    after = client.get("/passwordreset/methods/").content.decode()
    assert "r•••@example.net" in after
    # Once one passed, it shows it masked, as the card does.
    own_page = client.get("/passwordreset/email/").content.decode()
    assert "r•••@example.net" in own_page and "We do not show it" not in own_page
    # Beside the hint, the card's form does not say that nothing is shown.
    email_card = card_form(after, "/passwordreset/email/")
    assert "Type the whole alternate address you registered." in email_card
    assert "We do not show it" not in email_card
    assert "One more method is needed" in after
    assert "Authentication phone" not in after  # already passed
    pass_email(client)
    assert client.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"


def test_office_phone_gets_a_call(client, office, policy, phone_outbox):
    policy.set_option("office", "enabled", True)
    policy.save()
    start_reset(client, "rita")
    response = client.post("/passwordreset/office-phone/", {"number": "+44 20 7183 8750"})
    assert shows_reset_code_page(response, "office-phone")
    page = response.content.decode()
    assert "we are calling you with a 6-digit code" in page
    assert "The 6 digits read out in the call." in page and "we sent you" not in page
    (call,) = phone_outbox
    assert call.kind == "voice" and call.to == "+442071838750"
    client.post("/passwordreset/office-phone/code/", {"code": last_phone_code()})
    assert client.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"


def test_the_code_page_says_what_was_asked_for_a_call_or_a_text(registered):
    """A code asked for by a call is read out, not sent: the code page says so, in the answer
    and opened again. It follows the person's own choice alone, so it reads the same for every
    name."""
    pages = {}
    for name in ("rita", "nobody-here"):
        client = Client()
        start_reset(client, name)
        for channel in ("voice", "sms"):
            response = client.post(
                "/passwordreset/phone/", {"number": "+447400123456", "channel": channel}
            )
            assert shows_reset_code_page(response)
            again = client.get("/passwordreset/phone/code/")
            pages[name, channel] = [page.content.decode() for page in (response, again)]
    for name in ("rita", "nobody-here"):
        for page in pages[name, "voice"]:
            assert "we are calling you with a 6-digit code" in page
            assert "The 6 digits read out in the call." in page and "we sent you" not in page
        for page in pages[name, "sms"]:
            assert "a 6-digit code is on its way" in page
            assert "The 6 digits we sent you." in page and "calling" not in page
            assert "asked for again straight after another is not sent" in page
    words = re.compile(r"<main.*</main>", re.S)
    tokens = re.compile(r'value="[^"]*"|data-[a-z-]+="[^"]*"|\d+ minutes?')
    for channel in ("voice", "sms"):
        rita, nobody = (
            tokens.sub("", words.search(pages[name, channel][1]).group(0))
            for name in ("rita", "nobody-here")
        )
        assert rita == nobody


def test_an_office_phone_with_the_phones_number_counts_once(
    client, registered, policy, phone_outbox, helpdesk_client
):
    """An office phone set (by the admin, the import or the directory) to the number of the
    verified authentication phone is one handset: under two methods to reset, the call to it
    is not made, it is not offered beside the phone, and every page counts one method."""
    from methods.models import AuthenticationEmail, OfficePhone

    policy.set_option("office", "enabled", True)
    policy.reset_methods_required = 2
    policy.save()
    AuthenticationEmail.objects.filter(user=registered).delete()  # the phone and the office line
    OfficePhone.objects.create(user=registered, number="+447400123456")
    start_reset(client, "rita")
    assert shows_reset_code_page(
        client.post("/passwordreset/office-phone/", {"number": "+447400123456"}), "office-phone"
    )
    assert not phone_outbox  # the same page as ever; no call to the phone's number
    pass_phone(client)
    listing = client.get("/passwordreset/methods/").content.decode()
    assert 'action="/passwordreset/office-phone/"' not in listing
    assert client.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"
    page = helpdesk_client.get(f"/helpdesk/users/{registered.pk}/").content.decode()
    assert re.search(r"Can reset</dt><dd>No", page)
    cannot = helpdesk_client.get("/helpdesk/?can_reset=no").content.decode()
    assert f"/helpdesk/users/{registered.pk}/" in cannot


def test_questions_pass_only_when_all_answers_are_right(client, registered, policy):
    policy.reset_methods_required = 2
    policy.save()
    answers = give_answers(registered)
    start_reset(client, "rita")
    asked, data = answer_form(client, answers)
    assert sorted(asked) == sorted(answers)
    wrong = dict(data)
    wrong[f"answer_{asked[0]}"] = "not it"
    response = client.post("/passwordreset/questions/", wrong)
    page = response.content.decode()
    assert "could not verify you" in page
    assert "not it" not in page  # answers are never written back
    assert "every box is empty: type all your answers again" in page  # and the page says so
    # The refusal names no one answer: each box is marked, and described by the summary.
    boxes = re.findall(r'<input[^>]*name="answer_\d+"[^>]*>', page)
    assert len(boxes) == len(asked)
    assert all('aria-invalid="true"' in box and "error-summary" in box for box in boxes)
    response = client.post(
        "/passwordreset/questions/", {k: f"  {v.upper()} " for k, v in data.items()}
    )
    assert response["Location"] == "/passwordreset/methods/"
    assert "One more method is needed" in client.get("/passwordreset/methods/").content.decode()


def test_a_stranger_who_types_the_name_cannot_hold_back_the_persons_code(registered, settings):
    """Someone who knows only the name opens the code step (a code asked for a number of
    their own, which is not sent) and types wrong codes: the person's own code, asked for in
    their browser, still passes there at once."""
    settings.SSPR_CODE_THROTTLE_FACTOR = 1
    stranger = Client()
    start_reset(stranger, "rita")
    stranger.post("/passwordreset/phone/", {"number": "+447400999888", "channel": "sms"})
    own = Client()
    start_reset(own, "rita")
    assert shows_reset_code_page(
        own.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    )
    code = last_phone_code()
    for _ in range(5):
        stranger.post("/passwordreset/phone/code/", {"code": "000000"})
    assert shows_finish_page(own.post("/passwordreset/phone/code/", {"code": code}))


def test_a_code_held_back_by_a_limit_gets_the_page_every_request_gets(
    client, registered, settings, phone_outbox
):
    """Over the number's hourly limit nothing is sent, and the page is the one every request
    gets (no name or number is told apart), saying what may be why no code comes."""
    settings.SSPR_SEND_LIMITS = {"destination": 0}
    start_reset(client, "rita")
    page = client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    assert shows_reset_code_page(page) and not phone_outbox
    assert "too many codes may have been asked for in the last hour" in page.content.decode()


def test_answers_get_five_tries_an_attempt_like_any_method(client, registered, policy):
    """Five sets of answers an attempt, as a code from an app gets: the sixth is refused even
    when right, so a dictionary of guesses needs a new attempt (and its limits) every five."""
    policy.reset_methods_required = 2
    policy.save()
    answers = give_answers(registered)
    start_reset(client, "rita")
    _asked, right = answer_form(client, answers)
    for n in range(5):
        wrong = dict.fromkeys(right, f"guess {n}")
        assert (
            "could not verify you"
            in client.post("/passwordreset/questions/", wrong).content.decode()
        )
    refused = client.post("/passwordreset/questions/", right)
    assert "could not verify you" in refused.content.decode()
    assert not Event.objects.filter(kind=EventKind.RESET_METHOD_PASSED).exists()
    # A new attempt starts its own count.
    start_reset(client, "rita")
    _asked, right = answer_form(client, answers)
    assert client.post("/passwordreset/questions/", right)["Location"] == "/passwordreset/methods/"


def test_questions_alone_do_not_suffice_by_default_and_the_portal_says_so(
    client, registered, policy
):
    answers = give_answers(registered)
    start_reset(client, "rita")
    page = client.get("/passwordreset/methods/").content.decode()
    # Said before anyone tries; what administrators need is not told to every visitor.
    assert "Security questions count only together with another method." in page
    assert "Administrator" not in page
    _asked, data = answer_form(client, answers)
    client.post("/passwordreset/questions/", data)
    # The policy asks for one method, but questions cannot be it.
    assert client.get("/passwordreset/methods/").status_code == 200
    assert client.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"


def test_the_policy_may_let_questions_alone_suffice_but_never_for_staff(
    client, registered, policy, make_user
):
    from registration.queries import with_methods

    policy.questions_alone_allowed = True
    policy.save()
    answers = give_answers(registered)
    start_reset(client, "rita")
    assert "count only together" not in client.get("/passwordreset/methods/").content.decode()
    _asked, data = answer_form(client, answers)
    client.post("/passwordreset/questions/", data)
    assert client.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"
    # The same rule in the "can reset" column: questions only is enough now, not for staff.
    boss = make_user("boss", staff=True)
    give_answers(boss)
    only_questions = make_user("quiz")
    give_answers(only_questions)
    flags = dict(
        with_methods(
            get_user_model().objects.filter(username__in=["quiz", "boss"]), policy
        ).values_list("username", "sspr_can_reset")
    )
    assert flags == {"quiz": True, "boss": False}


def test_the_questions_asked_stay_the_same_as_an_unknown_names_do(registered, policy, settings):
    """A real account's draw stays as it is from one attempt to the next, after a right
    answer or with the cache emptied, as an unknown name's does: how often the questions change
    cannot tell the two apart. New answers make a new draw."""
    from django.core.cache import cache

    settings.SSPR_RESET_ATTEMPTS_PER_HOUR = 100
    policy.reset_methods_required = 2
    policy.set_option("questions", "reset_count", 3)
    policy.set_option("questions", "count", 5)
    policy.save()
    answers = give_answers(registered, ("one a", "two b", "three c", "four d", "five e"))

    def asked(name: str) -> tuple:
        client = Client()
        start_reset(client, name)
        found, data = answer_form(client, answers)
        if name == "rita":
            client.post("/passwordreset/questions/", data)  # answered right
        cache.clear()
        return tuple(found)

    for name in ("rita", "ghost"):
        draws = {asked(name) for _ in range(6)}
        assert len(draws) == 1 and len(next(iter(draws))) == 3, (name, draws)
    # New answers: drawn again from them, and stable again.
    SecurityAnswer.objects.filter(user=registered).delete()
    fresh = give_answers(registered, ("six f", "seven g", "eight h", "nine i", "ten j"))
    answers.clear()
    answers.update(fresh)
    again = {asked("rita") for _ in range(3)}
    assert len(again) == 1 and set(next(iter(again))) <= set(fresh)


def test_staff_need_two_methods_and_never_questions(client, make_user, policy):
    boss = make_user("boss", staff=True)
    now = timezone.now()
    from methods.models import AuthenticationEmail, AuthenticationPhone

    AuthenticationPhone.objects.create(user=boss, number="+447400123456", verified_at=now)
    AuthenticationEmail.objects.create(user=boss, email="boss.home@example.net", verified_at=now)
    answers = give_answers(boss)
    start_reset(client, "boss")
    _asked, data = answer_form(client, answers)
    response = client.post("/passwordreset/questions/", data)
    assert "could not verify you" in response.content.decode()
    pass_phone(client)
    assert "One more method is needed" in client.get("/passwordreset/methods/").content.decode()
    pass_email(client, "boss.home@example.net")
    assert client.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"


def test_staff_reset_tells_every_other_administrator(client, make_user, policy):
    boss = make_user("boss", staff=True)
    boss.is_superuser = True
    boss.save()
    other = make_user("other-admin", staff=True)
    other.is_superuser = True
    other.save()
    now = timezone.now()
    from methods.models import AuthenticationEmail, AuthenticationPhone

    AuthenticationPhone.objects.create(user=boss, number="+447400123456", verified_at=now)
    AuthenticationEmail.objects.create(user=boss, email="boss.home@example.net", verified_at=now)
    start_reset(client, "boss", action="unlock")
    pass_phone(client)
    pass_email(client, "boss.home@example.net")
    mail.outbox.clear()
    client.post("/passwordreset/finish/")
    to = sorted(address for message in mail.outbox for address in message.to)
    assert "other-admin@example.org" in to and "boss@example.org" in to
    notice = next(m for m in mail.outbox if m.to == ["other-admin@example.org"])
    assert "boss" in notice.subject


def test_five_attempts_an_hour_then_blocked_for_a_day(client, registered):
    for _ in range(5):
        assert start_reset(Client(), "rita", action=None).status_code == 302
    blocked = start_reset(Client(), "rita", action=None)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.content.decode()
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert start_reset(Client(), "rita", action=None).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert start_reset(Client(), "rita", action=None).status_code == 302
    # Another account is not affected.
    assert start_reset(Client(), "someone-else", action=None).status_code == 302
    assert Event.objects.filter(kind=EventKind.RESET_REFUSED).count() == 2


def test_attempts_either_side_of_an_hours_edge_count_together(registered):
    """Counted per clock hour, three attempts at 12:59 and three at 13:00 were three and three,
    and never blocked; within sixty minutes they are six. Each counts for one hour exactly."""
    edge = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    with time_machine.travel(edge - timedelta(seconds=30), tick=False):
        for name in ("rita", "someone", "other"):
            for _ in range(3 if name == "rita" else 5):
                assert start_reset(Client(), name, action=None).status_code == 302
    with time_machine.travel(edge + timedelta(seconds=30), tick=False):
        for _ in range(2):
            assert start_reset(Client(), "rita", action=None).status_code == 302
        assert start_reset(Client(), "rita", action=None).status_code == 429
    # Five at 12:59:30: a sixth at 13:59 is within the hour, one at 14:00 is not.
    with time_machine.travel(edge + timedelta(minutes=59), tick=False):
        assert start_reset(Client(), "someone", action=None).status_code == 429
    with time_machine.travel(edge + timedelta(minutes=60), tick=False):
        assert start_reset(Client(), "other", action=None).status_code == 302


def test_the_helpdesk_sees_the_block_and_lifts_it(registered, helpdesk_client):
    """A day's block says "No" wherever the helpdesk reads whether the person can reset, and
    the helpdesk can lift it after checking the caller: the next attempt then starts."""
    page = helpdesk_client.get(f"/helpdesk/users/{registered.pk}/").content.decode()
    assert 'id="reset-block"' not in page and re.search(r"Can reset</dt><dd>Yes", page)
    for _ in range(6):
        start_reset(Client(), "rita", action=None)
    assert start_reset(Client(), "rita", action=None).status_code == 429
    page = helpdesk_client.get(f"/helpdesk/users/{registered.pk}/").content.decode()
    assert 'id="reset-block"' in page and re.search(r"Can reset</dt><dd>No", page)
    assert "Too many reset attempts" in page
    listing = helpdesk_client.get("/helpdesk/?q=rita").content.decode()
    assert "No: too many attempts" in listing
    # Only by POST, only by the helpdesk.
    assert helpdesk_client.get(f"/helpdesk/users/{registered.pk}/reset-block/").status_code == 405
    person = past_sign_in_check(Client(), registered)
    assert person.post(f"/helpdesk/users/{registered.pk}/reset-block/").status_code == 403
    assert start_reset(Client(), "rita", action=None).status_code == 429
    in_person = {"block-verification": "in_person"}
    refused = helpdesk_client.post(f"/helpdesk/users/{registered.pk}/reset-block/", {})
    assert refused.status_code == 400
    assert start_reset(Client(), "rita", action=None).status_code == 429
    lifted = helpdesk_client.post(
        f"/helpdesk/users/{registered.pk}/reset-block/", in_person, follow=True
    )
    assert "rita can start a password reset again." in lifted.content.decode()
    assert 'id="reset-block"' not in lifted.content.decode()
    event = Event.objects.get(kind=EventKind.RESET_BLOCK_LIFTED)
    assert event.subject == registered and event.details["reason"] == "reset_attempts"
    assert not Event.objects.filter(kind=EventKind.SELF_SERVICE_CLEARED).exists()
    assert event.actor.get_username() == "agent"
    # Pressed again (a second tab, another agent first): it says there was nothing to lift.
    again = helpdesk_client.post(
        f"/helpdesk/users/{registered.pk}/reset-block/", in_person, follow=True
    )
    assert "Password reset was not blocked for rita; nothing was changed." in again.content.decode()
    assert Event.objects.filter(kind=EventKind.RESET_BLOCK_LIFTED).count() == 1
    assert start_reset(Client(), "rita", action=None).status_code == 302


def test_unknown_accounts_are_blocked_the_same_way(client):
    statuses = [start_reset(Client(), "nobody-here", action=None).status_code for _ in range(6)]
    assert statuses == [302] * 5 + [429]


def test_unlock_clears_the_sign_in_lockout_and_keeps_the_password(client, registered):
    signer = Client()
    for _ in range(5):
        signer.post("/ssprsetup/signin/", {"username": "rita", "password": "wrong-password"})
    locked = signer.post("/ssprsetup/signin/", {"username": "rita", "password": PASSWORD})
    assert locked.status_code == 429
    assert "/passwordreset/" in locked.content.decode()

    start_reset(client, "rita", action="unlock")
    pass_phone(client)
    assert "Unlock my account" in client.get("/passwordreset/finish/").content.decode()
    assert shows_done_page(client.post("/passwordreset/finish/"), "unlock")
    assert sign_in(signer, "rita").status_code == 302
    assert Event.objects.filter(kind=EventKind.ACCOUNT_UNLOCKED).count() == 1


def test_reset_also_clears_the_lockout(client, registered):
    signer = Client()
    for _ in range(6):
        signer.post("/ssprsetup/signin/", {"username": "rita", "password": "wrong-password"})
    start_reset(client, "rita")
    pass_phone(client)
    client.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert sign_in(signer, "rita", NEW_PASSWORD).status_code == 302


def test_every_page_shows_the_helpdesk_contact(client, registered, policy):
    policy.helpdesk_contact = "help@example.org"
    policy.save()
    start_reset(client, "rita")
    for path in ("/passwordreset/", "/passwordreset/methods/", "/passwordreset/phone/"):
        assert "help@example.org" in client.get(path).content.decode()


def test_audit_never_holds_what_was_typed(client, registered):
    start_reset(client, "rita")
    client.post("/passwordreset/phone/", {"number": "+447400999999", "channel": "sms"})
    client.post("/passwordreset/phone/code/", {"code": "123456"})
    pass_phone(client)
    client.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    details = str(list(Event.objects.values_list("details", flat=True)))
    for secret in ("7400999999", "7400123456", NEW_PASSWORD, "123456"):
        assert secret not in details
    reasons = Event.objects.filter(kind=EventKind.RESET_METHOD_FAILED).values_list(
        "details__reason", flat=True
    )
    assert list(reasons) == ["destination_mismatch"]


def test_a_finish_sent_again_after_it_was_made_is_not_made_twice(client, registered):
    """The new password was set, but the answer never reached the person (a host stopped
    before it sent it, or kept the attempt in the session): the same request again leads to
    the done page, and the password is not set a second time."""
    start_reset(client, "rita")
    pass_phone(client)
    before = dict(client.session)  # the attempt as it was before the last step
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert shows_done_page(client.post("/passwordreset/finish/", data))
    registered.refresh_from_db()
    stored = registered.password
    session = client.session
    session.update(before)  # as if the answer, and the session it saved, never came back
    session.save()
    # Sent again, even with another password typed: the first change holds, and the page
    # says so.
    other = {"new_password1": NEW_PASSWORD + "x", "new_password2": NEW_PASSWORD + "x"}
    again = client.post("/passwordreset/finish/", other)
    assert shows_done_page(again)
    page = again.content.decode()
    assert "the password you chose the first time is the one that works" in page
    registered.refresh_from_db()
    assert registered.password == stored and registered.check_password(NEW_PASSWORD)
    assert Event.objects.filter(kind=EventKind.PASSWORD_RESET).count() == 1


def test_a_second_tab_after_the_reset_finished_says_it_is_finished(client, registered):
    """Another tab of the same browser sends the last step (or an earlier one) after the first
    tab finished: its page says the reset is finished and nothing changed now, not that time
    ran out; a new attempt started afterwards, once over, is "start again" as before."""
    start_reset(client, "rita")
    pass_phone(client)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert shows_done_page(client.post("/passwordreset/finish/", data))
    registered.refresh_from_db()
    stored = registered.password
    other = {"new_password1": NEW_PASSWORD + "x", "new_password2": NEW_PASSWORD + "x"}
    steps = ("/passwordreset/finish/", other), ("/passwordreset/methods/", {})
    for path, posted in (*steps, ("/passwordreset/email/", {"email": "rita.home@example.net"})):
        page = client.post(path, posted).content.decode()
        assert "This reset is already finished" in page, path
        assert "that password is the one that holds" in page
        assert "Please start again" not in page
    registered.refresh_from_db()
    assert registered.password == stored
    # Later than the attempt's own lifetime, or after a new attempt, it is the usual page.
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert "Please start again" in client.get("/passwordreset/finish/").content.decode()
    start_reset(client, "rita")
    session = client.session
    session.pop("sspr_reset", None)
    session.save()
    page = client.get("/passwordreset/finish/").content.decode()
    assert "Please start again" in page and "already finished" not in page


def test_two_finishes_of_one_attempt_at_once_change_the_password_once(client, registered):
    """Two presses of the last step (a double click, a balancer sending the request again to
    another host while the first still works, its answer lost): the flow checks under the
    person's lock whether this attempt's change was made, and the second makes nothing."""
    start_reset(client, "rita")
    pass_phone(client)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    before = dict(client.session)
    assert shows_done_page(client.post("/passwordreset/finish/", data))
    registered.refresh_from_db()
    stored = registered.password
    # The second press comes with the session as it was before the first was answered.
    session = client.session
    session.update(before)
    session.pop("sspr_reset_finished", None)
    session.save()
    second = client.post("/passwordreset/finish/", data)
    assert shows_done_page(second)
    assert "the password you chose the first time" in second.content.decode()
    # Sent again with passwords the form refuses (they differ): the same page, not an error.
    session = client.session
    session.update(before)
    session.pop("sspr_reset_finished", None)
    session.save()
    differing = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"}
    assert shows_done_page(client.post("/passwordreset/finish/", differing))
    registered.refresh_from_db()
    assert registered.password == stored
    assert Event.objects.filter(kind=EventKind.PASSWORD_RESET).count() == 1


def test_a_name_longer_than_any_account_is_refused_in_the_sites_words(client):
    """As at the sign-in page: the limit, not Django's count of what was typed."""
    response = client.post("/passwordreset/", {"username": "x" * 151, "altcha": "x"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "A username has at most 150 characters." in page
    assert "Ensure this value" not in page
    assert not Event.objects.filter(kind=EventKind.RESET_STARTED).exists()


def test_once_a_method_passed_only_the_persons_own_methods_are_offered(client, registered, policy):
    """Before a pass every enabled method is offered to every name alike; after it the person
    is known, and a method they never registered would only lead to a page that never passes."""
    policy.reset_methods_required = 2
    for method in ("authenticator", "questions"):
        policy.set_option(method, "enabled", True)
    policy.save()
    start_reset(client, "rita")
    before = client.get("/passwordreset/methods/").content.decode()
    assert "/passwordreset/authenticator/" in before and "/passwordreset/questions/" in before
    pass_email(client)
    after = client.get("/passwordreset/methods/").content.decode()
    assert "/passwordreset/phone/" in after  # rita's own
    assert "/passwordreset/authenticator/" not in after
    assert "/passwordreset/questions/" not in after
    assert "/passwordreset/email/" not in after  # passed already


def test_a_last_step_sent_from_a_tab_whose_reset_was_replaced_says_nothing_was_changed(
    client, registered, make_user
):
    """Two tabs, one browser: rita's reset proven in the first, a reset for another name
    started (and even proven) in the second. The first tab's new password changes nobody's
    password, and says so: the form names the attempt it belongs to."""
    grace = make_user("grace")
    AuthenticationEmail.objects.create(
        user=grace, email="grace.home@example.net", verified_at=timezone.now()
    )
    start_reset(client, "rita")
    pass_email(client)
    rita_page = client.get("/passwordreset/finish/").content.decode()
    (rita_attempt,) = set(ATTEMPT_FIELD.findall(rita_page))
    new = "violet-harbour-quartz-7"
    sent = {"new_password1": new, "new_password2": new, "attempt": rita_attempt}
    for proven in (False, True):
        start_reset(client, "grace")  # the second tab
        if proven:
            pass_email(client, "grace.home@example.net")
        response = client.post("/passwordreset/finish/", sent, follow=True)
        assert str(REPLACED) in response.content.decode(), proven
        for person in (registered, grace):
            person.refresh_from_db()
            assert not person.check_password(new), (proven, person)
    # The second tab's own form still works.
    grace_page = client.get("/passwordreset/finish/").content.decode()
    (grace_attempt,) = set(ATTEMPT_FIELD.findall(grace_page))
    done = client.post("/passwordreset/finish/", {**sent, "attempt": grace_attempt})
    assert shows_done_page(done)
    grace.refresh_from_db()
    assert grace.check_password(new)


def test_every_steps_form_names_its_attempt(client, registered, policy):
    """The action, each method's form and the last step each carry the attempt they belong
    to, once per form, so a step sent from a replaced tab can be told apart."""
    policy.set_option("questions", "enabled", True)
    policy.save()
    give_answers(registered)
    start_reset(client, "rita", action=None)
    attempt = client.session["sspr_reset"]["attempt"]
    pages = ["/passwordreset/action/"]
    client.post("/passwordreset/action/", {"action": "reset"})
    pages += ["/passwordreset/phone/", "/passwordreset/email/", "/passwordreset/questions/"]
    for path in pages:
        page = client.get(path).content.decode()
        # Its form's, and the time limit's (includes/time_limit.html).
        assert ATTEMPT_FIELD.findall(page) == [attempt, attempt], path
    code_page = client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    assert ATTEMPT_FIELD.findall(code_page.content.decode()) == [attempt] * 3  # and two limits
    finish = client.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert shows_finish_page(finish)
    assert set(ATTEMPT_FIELD.findall(finish.content.decode())) == {attempt}


def test_a_code_sent_from_a_tab_whose_reset_was_replaced_is_not_used(client, registered):
    """Two tabs, one browser: a code asked for in the first tab, then a new reset started in
    the second. The first tab's code is not taken as the new attempt's (which has asked for
    none): the page says a newer attempt replaced it, the code still works for no one, and the
    new attempt is where it was."""
    start_reset(client, "rita")
    code_page = client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    (first,) = set(ATTEMPT_FIELD.findall(code_page.content.decode()))
    code = last_phone_code()
    start_reset(client, "rita")  # the second tab
    second = client.session["sspr_reset"]
    assert second["attempt"] != first
    sent = {"code": code, "attempt": first}
    response = client.post("/passwordreset/phone/code/", sent, follow=True)
    page = response.content.decode()
    assert "A newer attempt was started in this browser" in page
    assert response.redirect_chain == [("/passwordreset/methods/", 302)]
    assert client.session["sspr_reset"] == second  # nothing passed, no code asked for
    assert not Event.objects.filter(kind=EventKind.RESET_METHOD_PASSED).exists()
    # The same form from a tab of the attempt itself goes on as ever.
    code_page = client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    (current,) = set(ATTEMPT_FIELD.findall(code_page.content.decode()))
    passed = client.post(
        "/passwordreset/phone/code/", {"code": last_phone_code(), "attempt": current}
    )
    assert shows_finish_page(passed)


def test_questions_are_offered_after_a_pass_when_the_portal_asks_fewer_than_were_registered(
    client, registered, policy
):
    """Registered with four answers asked, three asked at reset: someone who answered three
    (the policy asked for fewer then) can still pass them, and the portal offers them."""
    policy.reset_methods_required = 2
    policy.set_option("questions", "enabled", True)
    policy.set_option("questions", "count", 4)
    policy.set_option("questions", "reset_count", 3)
    policy.save()
    AuthenticationPhone.objects.filter(user=registered).delete()
    answers = give_answers(registered)  # three
    start_reset(client, "rita")
    pass_email(client)
    listing = client.get("/passwordreset/methods/").content.decode()
    assert "/passwordreset/questions/" in listing
    asked, data = answer_form(client, answers)
    assert len(asked) == 3
    client.post("/passwordreset/questions/", data)
    assert client.get("/passwordreset/finish/").status_code == 200


def test_each_step_reads_the_account_once_for_every_kind_of_name(client, registered):
    """The account being reset is read once a step (and kept for the rest of it), for a name
    with an account and one without alike (docs/security.md, "No enumeration")."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def account_reads(call, *args) -> tuple[int, object]:
        with CaptureQueriesContext(connection) as queries:
            response = call(*args)
        # The query for the account an attempt resets (a usable, unblocked account).
        reads = [q for q in queries if '"methods_selfserviceblock"."id" IS NULL' in q["sql"]]
        return len(reads), response

    start_reset(client, "rita")
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    reads, response = account_reads(
        client.post, "/passwordreset/phone/code/", {"code": last_phone_code()}
    )
    assert shows_finish_page(response) and reads == 1
    reads, response = account_reads(
        client.post,
        "/passwordreset/finish/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert shows_done_page(response) and reads == 1
    assert get_user_model().objects.get(username="rita").check_password(NEW_PASSWORD)

    nobody = Client()
    start_reset(nobody, "nobody-here")
    nobody.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    reads, response = account_reads(nobody.post, "/passwordreset/phone/code/", {"code": "123456"})
    assert response.status_code == 200 and reads == 1


def _turn_off(user):
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)


def _pause(user):
    from methods.models import BlockReason, SelfServiceBlock

    SelfServiceBlock.objects.create(user=user, reason=BlockReason.NOT_ME)


@pytest.mark.parametrize("change", [_turn_off, _pause], ids=["turned off", "paused"])
def test_an_account_turned_off_or_paused_during_the_attempt_gets_no_code(
    client, registered, phone_outbox, change
):
    start_reset(client, "rita")
    change(registered)
    answer = client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    # The page reads as for any number; nothing is sent, and the log says why.
    assert shows_reset_code_page(answer)
    assert phone_outbox == []
    failed = Event.objects.get(kind=EventKind.RESET_METHOD_FAILED)
    assert failed.details["reason"] == "no_account"


def test_the_code_job_reads_the_person_once(client, registered, phone_outbox):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start_reset(client, "rita")
    with CaptureQueriesContext(connection) as seen:
        client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    assert [message.to for message in phone_outbox] == ["+447400123456"]
    # The request itself does not read the account; the job that sends the code reads it
    # once, with its methods.
    people = [q["sql"] for q in seen.captured_queries if 'FROM "auth_user"' in q["sql"]]
    assert len(people) == 1, people


def test_a_code_that_passes_marks_its_method_used(client, registered, phone_outbox):
    start_reset(client, "rita")
    assert AuthenticationPhone.objects.get(user__username="rita").last_used_at is None
    before = timezone.now()
    assert shows_finish_page(pass_phone(client))
    used = AuthenticationPhone.objects.get(user__username="rita").last_used_at
    assert used is not None and used >= before
    # Only the method that passed.
    assert AuthenticationEmail.objects.get(user__username="rita").last_used_at is None


def test_the_error_summary_adds_no_colon_to_a_label_that_ends_in_a_question_mark(
    client, registered, policy
):
    """A question is its box's label: the summary reads "…pet?" then the error, not "?:"."""
    policy.reset_methods_required = 2
    policy.save()
    answers = give_answers(registered)
    start_reset(client, "rita")
    asked, data = answer_form(client, answers)
    data[f"answer_{asked[0]}"] = ""
    page = client.post("/passwordreset/questions/", data).content.decode()
    summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "?:" not in summary and re.search(r"\? \w", summary), summary


def test_a_code_typed_after_another_window_asked_another_way_says_it_was_not_checked(
    client, registered, phone_outbox
):
    """One window of the attempt asked for an email code; another window then asked for a
    text. The email code typed in the first window is not checked, and the page it leads to
    says so, instead of showing the empty form as if nothing had been typed."""
    start_reset(client, "rita")
    client.post("/passwordreset/email/", {"email": "rita.home@example.net"})
    email_code = last_email_code()
    assert shows_reset_code_page(
        client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    )
    typed = client.post("/passwordreset/email/code/", {"code": email_code}, follow=True)
    page = typed.content.decode()
    assert "This code was not checked: another window of this reset" in page
    assert 'name="email"' in page  # the email's first page, to ask again
    # Nothing passed; the text's code, in the other window, still goes on.
    assert shows_finish_page(client.post("/passwordreset/phone/code/", {"code": last_phone_code()}))


def test_wrong_answers_are_counted_across_attempts_and_end_for_the_day(
    registered, policy, settings
):
    """Five tries an attempt and five attempts an hour let a guesser try 600 sets of answers a
    day. Ten wrong sets a day for a name, from any attempts: after them no set is looked at,
    the right one neither, until the oldest is a day old."""
    settings.SSPR_RESET_ATTEMPTS_PER_HOUR = 100
    policy.reset_methods_required = 2
    policy.save()
    answers = give_answers(registered)
    start = timezone.now()
    for attempt in range(5):
        with time_machine.travel(start + timedelta(minutes=attempt), tick=False):
            client = Client()
            start_reset(client, "rita")
            _asked, data = answer_form(client, {})
            for _ in range(2):
                assert (
                    "could not verify you"
                    in client.post("/passwordreset/questions/", data).content.decode()
                )
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        client = Client()
        start_reset(client, "rita")
        _asked, right = answer_form(client, answers)
        refused = client.post("/passwordreset/questions/", right)
        assert "could not verify you" in refused.content.decode()
    with time_machine.travel(start + timedelta(days=1, minutes=5), tick=False):
        client = Client()
        start_reset(client, "rita")
        _asked, right = answer_form(client, answers)
        assert client.post("/passwordreset/questions/", right)["Location"] == (
            "/passwordreset/methods/"
        )
