"""Proof before change (docs/security.md rules 66-67, methods/proof.py): once a person has a
method that proves who they are, their password alone changes nothing about how the account
is recovered; a proof with a registered method does, for five minutes of that session."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp

from audit.models import Event, EventKind
from methods.authenticator.models import AuthenticatorDevice
from methods.models import AuthenticationEmail, AuthenticationPhone, SecurityAnswer
from methods.proof import PROVED_AT
from passwordreset.state import SESSION_KEY
from tests.support.codes import last_phone_code
from tests.support.people import sign_in
from tests.support.registering import prove_with_phone, question_ids, questions_data, register_email
from tests.support.resets import card_form, shows_reset_code_page, without_tokens

pytestmark = pytest.mark.django_db

NUMBER = "+447400123456"


@pytest.fixture
def rita(make_user, approved_questions):
    """Registered earlier (another day, another session): a phone, an authenticator app and
    three security questions."""
    user = make_user("rita")
    AuthenticationPhone.objects.create(user=user, number=NUMBER, verified_at=timezone.now())
    return user


@pytest.fixture
def thief(rita) -> Client:
    """Someone who phished Rita's password and signed in with it."""
    client = Client()
    assert sign_in(client, "rita").status_code == 302
    return client


def with_app(user) -> str:
    device = AuthenticatorDevice.objects.create(user=user, name="app", confirmed=True)
    return device.bin_key.hex()


def app_code(key_hex: str) -> str:
    return f"{totp(bytes.fromhex(key_hex), t0=0, step=30, digits=6):06d}"


def test_a_password_alone_cannot_add_replace_or_remove_a_method(thief, rita):
    to_prove = "/passwordreset/prove/?next="
    assert thief.get("/ssprsetup/email/")["Location"].startswith(to_prove)
    # Straight to the form's POST: nothing is kept, nothing is sent.
    response = thief.post("/ssprsetup/email/", {"email": "thief@evil.example"})
    assert response["Location"].startswith(to_prove)
    response = thief.post("/ssprsetup/phone/", {"region": "", "number": "+447400999999"})
    assert response["Location"].startswith(to_prove)
    assert thief.post("/ssprsetup/phone/remove/")["Location"].startswith(to_prove)
    assert thief.post("/ssprsetup/questions/", questions_data(3))["Location"].startswith(to_prove)
    assert thief.get("/ssprsetup/authenticator/")["Location"].startswith(to_prove)
    assert not AuthenticationEmail.objects.exists()
    assert AuthenticationPhone.objects.get(user=rita).number == NUMBER
    assert not SecurityAnswer.objects.exists()
    assert not AuthenticatorDevice.objects.exists()
    assert "thief@evil.example" not in str(thief.session.items())


def test_after_a_proof_with_the_phone_the_person_can_add_a_method(thief, rita):
    response = thief.get("/ssprsetup/email/")
    page = thief.get(response["Location"], follow=True)
    text = page.content.decode()
    assert "Confirm it is you" in text
    assert "Authentication phone" in text
    prove_with_phone(thief, NUMBER, next_url="/ssprsetup/email/")
    assert thief.get("/ssprsetup/email/").status_code == 200
    register_email(thief, "rita.home@example.net")
    assert AuthenticationEmail.objects.get(user=rita).verified_at
    (proved,) = Event.objects.filter(kind=EventKind.CHANGE_PROVED, subject=rita)
    assert proved.details["methods"] == ["authentication_phone"]
    # Its step reads as a proof, not a reset, in the helpdesk's history.
    (passed,) = Event.objects.filter(kind=EventKind.RESET_METHOD_PASSED, subject=rita)
    assert passed.details["purpose"] == "proof"
    from helpdesk.words import details_in_words

    assert ("Purpose", "Proof before a change, not a reset") in details_in_words(passed.details)
    # So does the code sent for it (the reset's codes, a proof's purpose).
    sent = Event.objects.filter(kind=EventKind.CODE_SENT, subject=rita).order_by("pk")
    assert [event.details["purpose"] for event in sent] == ["proof", "register"]


def test_the_proof_page_asks_for_the_number_on_the_phones_card(thief, rita):
    """The phone's card carries the form its own page asks to fill, beside the masked number:
    sent from the card, the code page comes in the answer, and the code makes the proof."""
    thief.get("/passwordreset/prove/?next=/ssprsetup/email/")
    page = thief.get("/passwordreset/methods/").content.decode()
    assert "Confirm it is you" in page
    card = card_form(page, "/passwordreset/phone/")
    assert 'name="number"' in card and "Send the code" in card
    assert "Type the whole number you registered." in card
    assert "We do not show it" not in card  # the masked number is beside it
    sent = dict(
        re.findall(r'type="hidden" name="(form|attempt|csrfmiddlewaretoken)" value="([^"]+)"', card)
    )
    assert set(sent) == {"form", "attempt", "csrfmiddlewaretoken"}
    answer = thief.post("/passwordreset/phone/", {**sent, "number": NUMBER, "channel": "sms"})
    assert shows_reset_code_page(answer)
    checked = thief.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert thief.get(checked["Location"])["Location"] == "/ssprsetup/email/"
    assert thief.get("/ssprsetup/email/").status_code == 200


def test_a_number_the_proof_cards_form_cannot_read_comes_back_beside_the_masked_number(
    thief, rita, phone_outbox
):
    """The phone's own page, where a number the card could not read is told, shows the masked
    number the card showed, and does not say it is not shown."""
    thief.get("/passwordreset/prove/?next=/ssprsetup/email/")
    card = card_form(thief.get("/passwordreset/methods/").content.decode(), "/passwordreset/phone/")
    sent = dict(re.findall(r'type="hidden" name="(form|attempt)" value="([^"]+)"', card))
    page = thief.post("/passwordreset/phone/", {**sent, "number": "0740", "channel": "sms"})
    text = page.content.decode()
    assert page.status_code == 200 and 'aria-invalid="true"' in text
    assert "+44 ••••••••56" in text
    assert "We do not show it" not in text
    assert not phone_outbox


def test_a_wrong_proof_changes_nothing_and_counts_like_at_the_portal(thief, rita):
    key = with_app(rita)
    thief.get("/passwordreset/prove/?next=/ssprsetup/email/")
    for _ in range(5):
        wrong = thief.post("/passwordreset/authenticator/", {"code": "000000"})
        assert wrong.status_code == 200
        assert "We could not verify you with that" in wrong.content.decode()
    # Past the attempt's tries even the right code is refused, as at the reset portal.
    right = thief.post("/passwordreset/authenticator/", {"code": app_code(key)})
    assert right.status_code == 200
    assert thief.get("/ssprsetup/email/")["Location"].startswith("/passwordreset/prove/")
    assert PROVED_AT not in thief.session


def test_a_number_typed_twice_reads_the_same_whether_it_was_the_right_one(thief, rita):
    """Signed in with the password alone, someone types a number, then types it again within
    the 30 seconds between codes. Had the first been Rita's, the second send is refused (a code
    went out a moment ago); the page must not say so, or it would tell them the number was
    hers: the code page reads the same as for a number that is not (docs/security.md §31)."""
    pages = []
    for number in (NUMBER, "+447400999999"):
        clock = time_machine.travel(timezone.now().replace(microsecond=0), tick=False)
        clock.start()
        client = Client()
        assert sign_in(client, "rita").status_code == 302
        client.get("/passwordreset/prove/?next=/ssprsetup/email/")
        for _ in range(2):
            client.post("/passwordreset/phone/", {"number": number, "channel": "sms"})
        page = client.get("/passwordreset/phone/code/").content.decode()
        clock.stop()
        pages.append(without_tokens(page))
    assert Event.objects.filter(kind=EventKind.CODE_SEND_REFUSED).exists()  # the cooldown
    assert pages[0] == pages[1]
    assert "on its way" in pages[0]


def test_the_strongest_method_is_offered_first_and_questions_never(rita):
    with_app(rita)
    AuthenticationEmail.objects.create(
        user=rita, email="rita.home@example.net", verified_at=timezone.now()
    )
    for question_id in question_ids(3):
        SecurityAnswer.objects.create(user=rita, question_id=question_id, answer_hash="x")
    client = Client()
    sign_in(client, "rita")
    page = client.get("/passwordreset/prove/?next=/ssprsetup/", follow=True).content.decode()
    order = [
        page.index(url)
        for url in (
            "/passwordreset/authenticator/",
            "/passwordreset/phone/",
            "/passwordreset/email/",
        )
    ]
    assert order == sorted(order)
    assert "/passwordreset/questions/" not in page
    opened = client.get("/passwordreset/questions/")
    assert opened.status_code == 302 and opened["Location"] == "/passwordreset/methods/"


def test_the_app_proves_it_and_the_person_goes_back_where_they_were(thief, rita):
    key = with_app(rita)
    thief.get("/passwordreset/prove/?next=/ssprsetup/phone/remove/")
    done = thief.post("/passwordreset/authenticator/", {"code": app_code(key)})
    assert done["Location"] == "/passwordreset/methods/"
    assert thief.get(done["Location"])["Location"] == "/ssprsetup/phone/remove/"
    assert thief.post("/ssprsetup/phone/remove/")["Location"] == "/ssprsetup/"
    assert not AuthenticationPhone.objects.exists()


def test_the_proof_lasts_five_minutes_and_ends_with_the_session(thief, rita):
    prove_with_phone(thief, NUMBER)
    assert thief.get("/ssprsetup/email/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        assert thief.get("/ssprsetup/email/")["Location"].startswith("/passwordreset/prove/")
    thief.post("/ssprsetup/signout/")
    sign_in(thief, "rita")
    assert thief.get("/ssprsetup/email/")["Location"].startswith("/passwordreset/prove/")


def test_a_first_registration_needs_the_password_only(make_user):
    make_user("newbie")
    client = Client()
    sign_in(client, "newbie")
    assert client.get("/ssprsetup/phone/").status_code == 200
    # Questions alone do not prove anyone: someone with only questions is not asked.
    client.post("/ssprsetup/questions/", questions_data(3))
    assert SecurityAnswer.objects.count() == 3
    assert client.get("/ssprsetup/email/").status_code == 200


def test_a_proof_never_becomes_a_reset(thief, rita):
    thief.get("/passwordreset/prove/?next=/ssprsetup/")
    # Not the new-password step, and the action page cannot turn it into a reset.
    assert thief.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"
    assert thief.post("/passwordreset/action/", {"action": "reset"})["Location"] == (
        "/passwordreset/methods/"
    )
    assert thief.session[SESSION_KEY]["action"] == "prove"
    thief.post("/passwordreset/phone/", {"number": NUMBER, "channel": "sms"})
    thief.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert thief.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"
    assert thief.post(
        "/passwordreset/finish/", {"new_password1": "x" * 20, "new_password2": "x" * 20}
    ).status_code in (200, 302)
    assert get_user_model().objects.get(pk=rita.pk).check_password("correct-horse-battery-staple")


def test_someone_signed_out_cannot_start_a_proof(client):
    response = client.get("/passwordreset/prove/?next=/ssprsetup/")
    assert response.status_code == 302
    assert response["Location"].startswith("/ssprsetup/signin/")


def test_at_most_five_proof_attempts_an_hour(thief, rita):
    for _ in range(5):
        assert thief.get("/passwordreset/prove/")["Location"] == "/passwordreset/methods/"
        session = thief.session
        del session[SESSION_KEY]
        session.save()
    refused = thief.get("/passwordreset/prove/", follow=True)
    assert "Too many attempts to prove it is you" in refused.content.decode()
    assert SESSION_KEY not in thief.session


def test_proofs_that_passed_do_not_count_among_the_hours_attempts(rita):
    """Rita changes her methods five times in an hour, each time after a proof with her phone
    in a new session, and starts a sixth: it starts. Before, her own successes had spent the
    hour's five attempts."""
    for _ in range(5):
        own = Client()
        assert sign_in(own, "rita").status_code == 302
        prove_with_phone(own, NUMBER)
    own = Client()
    assert sign_in(own, "rita").status_code == 302
    assert own.get("/passwordreset/prove/")["Location"] == "/passwordreset/methods/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_the_proof_never_leaves_the_site(thief, rita, target):
    thief.get("/passwordreset/prove/", {"next": target})
    thief.post("/passwordreset/phone/", {"number": NUMBER, "channel": "sms"})
    thief.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert thief.get("/passwordreset/methods/")["Location"] == "/ssprsetup/"


def test_the_proof_page_shows_numbers_masked_as_the_next_page_says(rita, policy):
    """The next page asks for the whole number "because we do not show it": the list of
    methods shows every phone masked, the office phone too."""
    from methods.models import OfficePhone

    policy.set_option("office", "enabled", True)
    policy.save()
    OfficePhone.objects.create(user=rita, number="+442071838750")
    client = Client()
    sign_in(client, "rita")
    page = client.get("/passwordreset/prove/?next=/ssprsetup/", follow=True).content.decode()
    assert "Confirm it is you" in page
    assert "+44 ••••••••50" in page
    for whole in ("7183 8750", "71838750", NUMBER[3:]):
        assert whole not in page


def test_a_code_asked_for_before_she_had_a_method_stores_nothing_without_a_proof(make_user):
    """Someone with Rita's password signs in while she has no method (no proof asked then),
    asks for a code to their own address and waits. Rita registers her phone in her own
    session. The waiting code no longer stores the address: the code step asks for a proof
    with her phone first. After that proof (here Rita's own, in that session) the same code
    page leads on, and the code still stores what it was sent to."""
    from tests.support.codes import last_email_code
    from tests.support.registering import register_phone, shows_code_page

    rita = make_user("rita")
    waiting = Client()
    sign_in(waiting, "rita")
    sent = waiting.post("/ssprsetup/email/", {"email": "kept@example.net"})
    assert shows_code_page(sent, "email")
    code = last_email_code()
    own = Client()
    sign_in(own, "rita")
    register_phone(own, NUMBER)

    messages = len(mail_outbox())
    response = waiting.post("/ssprsetup/email/verify/", {"code": code})
    assert response["Location"].startswith("/passwordreset/prove/?next=")
    assert not AuthenticationEmail.objects.filter(user=rita).exists()
    # Nor does the code page's "send a new code" send anything meanwhile.
    sent = waiting.post("/ssprsetup/email/send/", {"channel": "email"})
    assert sent["Location"].startswith("/passwordreset/prove/?next=")
    assert len(mail_outbox()) == messages

    prove_with_phone(waiting, NUMBER, next_url="/ssprsetup/email/verify/")
    assert waiting.post("/ssprsetup/email/verify/", {"code": code})["Location"] == "/ssprsetup/"
    assert AuthenticationEmail.objects.get(user=rita).email == "kept@example.net"
    # Added by whoever proved with the phone Rita already had: it cools off, as in a session
    # opened after her phone (docs/security.md rule 69), and proves nothing meanwhile.
    from methods.models import MethodChange

    change = MethodChange.objects.filter(user=rita, method="authentication_email").latest("pk")
    assert change.cooling_until is not None and change.cooling_until > timezone.now()


def test_a_method_added_in_a_proven_sitting_does_not_make_the_proof_last_longer(thief, rita):
    """The address added after a proof with the phone cools off: it proves nothing while the
    phone can, so adding it does not start the five minutes again. Six minutes after the
    proof, removing the phone asks for another."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        prove_with_phone(thief, NUMBER, next_url="/ssprsetup/email/")
    with time_machine.travel(start + timedelta(minutes=4), tick=False):
        register_email(thief, "thief@evil.example")
        assert AuthenticationEmail.objects.get(user=rita).verified_at
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        response = thief.post("/ssprsetup/phone/remove/")
        assert response["Location"].startswith("/passwordreset/prove/")
    assert AuthenticationPhone.objects.filter(user=rita).exists()


def test_confirming_again_an_address_still_cooling_off_is_no_proof(rita):
    """The thief once proved with Rita's phone and added their own address, which cools off.
    In a later session, with the password alone, confirming that address again is a change
    like any other: it asks for a proof, sends nothing, and the phone stays."""
    first = Client()
    sign_in(first, "rita")
    prove_with_phone(first, NUMBER, next_url="/ssprsetup/email/")
    register_email(first, "thief@evil.example")
    codes = len(mail_outbox())

    later = Client()
    sign_in(later, "rita")
    response = later.post("/ssprsetup/email/confirm/")
    assert response["Location"] == "/passwordreset/prove/?next=%2Fssprsetup%2F"
    later.post("/ssprsetup/email/send/", {"channel": "email"})
    assert len(mail_outbox()) == codes
    assert later.post("/ssprsetup/phone/remove/")["Location"].startswith("/passwordreset/prove/")
    assert AuthenticationPhone.objects.filter(user=rita).exists()


def test_an_address_an_administrator_entered_is_confirmed_with_the_password_alone(thief, rita):
    """Beside a verified phone, an address entered for Rita and not yet verified needs no
    proof with the phone to be confirmed: only a recent password (README, "Proof before
    change")."""
    from tests.support.codes import last_email_code

    AuthenticationEmail.objects.create(user=rita, email="rita.home@example.net", prepopulated=True)
    assert thief.post("/ssprsetup/email/confirm/")["Location"] == "/ssprsetup/email/send/"
    thief.post("/ssprsetup/email/send/", {"channel": "email"})
    assert thief.post("/ssprsetup/email/verify/", {"code": last_email_code()})["Location"] == (
        "/ssprsetup/"
    )
    assert AuthenticationEmail.objects.get(user=rita).verified_at
    # Past the password's ten minutes, it asks for the password again.
    AuthenticationEmail.objects.filter(user=rita).update(verified_at=None, prepopulated=True)
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        response = thief.post("/ssprsetup/email/confirm/")
        assert response["Location"].startswith("/ssprsetup/confirm-password/")


def test_a_first_registration_in_one_sitting_is_not_interrupted(make_user):
    """Nina has no method. She types her address (its code is slow to come) and meanwhile
    registers her phone in another tab of the same session. Six minutes later she types the
    address's code: the phone this session verified asks for no proof with itself."""
    from tests.support.codes import last_email_code
    from tests.support.registering import register_phone, shows_code_page

    nina = make_user("nina")
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "nina")
        sent = client.post("/ssprsetup/email/", {"email": "nina@home.example"})
        assert shows_code_page(sent, "email")
        code = last_email_code()
        register_phone(client, NUMBER)
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        assert client.post("/ssprsetup/email/verify/", {"code": code})["Location"] == "/ssprsetup/"
    assert AuthenticationEmail.objects.get(user=nina).verified_at


def test_a_new_code_asks_again_what_the_first_page_asks(thief, rita):
    """A change begun with a proof stores its code's value while the code lasts; but a new
    code ("send a new code") is a send like the first page's: hours later it asks for the
    password again, then the proof, and sends nothing meanwhile."""
    from tests.support.people import PASSWORD

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        prove_with_phone(thief, NUMBER, next_url="/ssprsetup/email/")
        sent = thief.post("/ssprsetup/email/", {"email": "rita.home@example.net"})
        assert sent.status_code == 200
    messages = len(mail_outbox())
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        again = thief.post("/ssprsetup/email/send/", {"channel": "email"})
        assert again["Location"].startswith("/ssprsetup/confirm-password/")
        thief.post("/ssprsetup/confirm-password/", {"password": PASSWORD})
        again = thief.post("/ssprsetup/email/send/", {"channel": "email"})
        assert again["Location"].startswith("/passwordreset/prove/")
    assert len(mail_outbox()) == messages


def test_the_password_asked_again_before_confirming_an_entered_address_leads_back(thief, rita):
    """Past the password's ten minutes, Confirm on an address entered for Rita asks for the
    password, then leads back to her overview, where the button is: not to a proof with her
    phone, which confirming it does not need."""
    from tests.support.people import PASSWORD

    AuthenticationEmail.objects.create(user=rita, email="rita.home@example.net", prepopulated=True)
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        asked = thief.post("/ssprsetup/email/confirm/")
        assert asked["Location"] == "/ssprsetup/confirm-password/?next=%2Fssprsetup%2F"
        after = thief.post(asked["Location"], {"password": PASSWORD, "next": "/ssprsetup/"})
        assert after["Location"] == "/ssprsetup/"
        assert thief.post("/ssprsetup/email/confirm/")["Location"] == "/ssprsetup/email/send/"


def mail_outbox():
    from django.core import mail

    return mail.outbox


def test_an_app_key_shown_after_a_proof_is_confirmed_while_a_code_would_last(thief, rita):
    """The authenticator's key is shown once the proof passed; scanning it and typing a first
    code may take longer than the proof lasts. The key made in the proven sitting is confirmed
    without a new proof while a sent code would still last (ten minutes), as a code's change
    is; after that, and on any other page, a proof is asked again."""
    from tests.methods.authenticator.test_authenticator import code_for, page_key

    prove_with_phone(thief, NUMBER, next_url="/ssprsetup/authenticator/")
    key = page_key(thief.get("/ssprsetup/authenticator/").content.decode())
    with time_machine.travel(timezone.now() + timedelta(minutes=7)):
        # Only the key's confirming step: the page itself, or another change, asks again.
        assert thief.get("/ssprsetup/authenticator/")["Location"].startswith(
            "/passwordreset/prove/?next="
        )
        assert thief.get("/ssprsetup/email/")["Location"].startswith("/passwordreset/prove/")
        done = thief.post("/ssprsetup/authenticator/", {"code": code_for(key)})
    assert done["Location"] == "/ssprsetup/"
    assert AuthenticatorDevice.objects.get(user=rita).confirmed


def test_an_app_key_shown_after_a_proof_asks_again_once_a_code_would_have_ended(thief, rita):
    from tests.methods.authenticator.test_authenticator import code_for, page_key

    prove_with_phone(thief, NUMBER, next_url="/ssprsetup/authenticator/")
    key = page_key(thief.get("/ssprsetup/authenticator/").content.decode())
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        late = thief.post("/ssprsetup/authenticator/", {"code": code_for(key)})
    # Eleven minutes after signing in: the password first, then the proof.
    assert late["Location"].startswith("/ssprsetup/confirm-password/?next=")
    assert not AuthenticatorDevice.objects.filter(user=rita, confirmed=True).exists()


def test_an_app_key_shown_before_she_had_a_method_needs_a_proof_once_she_has_one(make_user):
    """As for a code asked for then: a key shown while Rita had no method, confirmed after she
    registered her phone, asks for a proof first."""
    from tests.methods.authenticator.test_authenticator import code_for, page_key
    from tests.support.registering import register_phone

    rita = make_user("rita")
    waiting = Client()
    sign_in(waiting, "rita")
    key = page_key(waiting.get("/ssprsetup/authenticator/").content.decode())
    own = Client()
    sign_in(own, "rita")
    register_phone(own, NUMBER)
    response = waiting.post("/ssprsetup/authenticator/", {"code": code_for(key)})
    assert response["Location"].startswith("/passwordreset/prove/?next=")
    assert not AuthenticatorDevice.objects.filter(user=rita, confirmed=True).exists()


def test_in_a_changes_grace_only_a_right_code_is_taken_and_nothing_shows_the_key(thief, rita):
    """The grace lets a right code for the key through, nothing else: a wrong or junk code,
    once the proof has lapsed, asks for it again before the page (and its key) is shown.
    Someone holding only the session's cookie cannot read the key that way."""
    from tests.methods.authenticator.test_authenticator import page_key

    start = timezone.now()
    prove_with_phone(thief, NUMBER, next_url="/ssprsetup/authenticator/")
    with time_machine.travel(start + timedelta(minutes=4)):
        page_key(thief.get("/ssprsetup/authenticator/").content.decode())
    with time_machine.travel(start + timedelta(minutes=12)):
        for junk in ({"code": "12"}, {"code": "000000"}, {}):
            answer = thief.post("/ssprsetup/authenticator/", junk)
            assert answer.status_code == 302, junk
            assert answer["Location"].startswith("/ssprsetup/confirm-password/?next=")
    assert not AuthenticatorDevice.objects.filter(user=rita, confirmed=True).exists()
