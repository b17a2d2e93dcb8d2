"""The authentication phone, through the pages, as a user would do it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from methods.models import AuthenticationPhone
from tests.support.codes import last_phone_code
from tests.support.registering import register_phone, shows_code_page

pytestmark = pytest.mark.django_db


def test_the_number_and_how_to_send_the_code_are_asked_on_one_page(signed_in, phone_outbox):
    """One page takes the number and the choice of text or call (text chosen unless the person
    picks a call), and the code goes out as it is sent; the code page shows the number back in
    international format, with a way to change it."""
    page = signed_in.get("/ssprsetup/phone/").content.decode()
    assert "How should we send the code?" in page
    assert 'type="radio" name="channel" value="sms"' in page
    assert re.search(r'value="sms"[^>]*checked', page)
    assert 'value="voice"' in page
    response = signed_in.post(
        "/ssprsetup/phone/", {"region": "GB", "number": "07400 123456", "channel": "voice"}
    )
    assert shows_code_page(response)
    (call,) = phone_outbox
    assert call.kind == "voice" and call.to == "+447400123456"
    page = signed_in.get("/ssprsetup/phone/verify/").content.decode()
    assert "+44 7400 123456" in page and "Enter your number" in page
    # The code field says where its digits come from: a call reads them out.
    assert "The 6 digits read out in the call." in page and "we sent you" not in page


def test_the_code_page_comes_in_the_same_response_and_sending_the_form_again_sends_nothing(
    signed_in, phone_outbox
):
    """No redirect between the number and the code page: one round trip fewer. The page's form
    posts to the code page's own address. The number form sent again within the 30 seconds (a
    reload, a second press) sends no second code: the page says the code is on its way."""
    data = {"region": "GB", "number": "07400 123456", "channel": "sms"}
    response = signed_in.post("/ssprsetup/phone/", data)
    assert shows_code_page(response)
    page = response.content.decode()
    assert "A 6-digit code is on its way to" in page and "+44 7400 123456" in page
    again = signed_in.post("/ssprsetup/phone/", data, follow=True)
    assert again.redirect_chain == [("/ssprsetup/phone/verify/", 302)]
    assert "A code was sent a moment ago" in again.content.decode()
    assert len(phone_outbox) == 1
    code = last_phone_code()
    assert signed_in.post("/ssprsetup/phone/verify/", {"code": code})["Location"] == "/ssprsetup/"


def test_the_number_form_sent_again_after_the_wait_sends_nothing_while_its_code_is_live(
    signed_in, phone_outbox
):
    """A reload of the code page long after it came (the wait over) still sends no second
    code, which would void the first on its way: the code page opens, and the first code
    verifies. Another way of sending, or another session, gets a code of its own."""
    data = {"region": "GB", "number": "07400 123456", "channel": "sms"}
    assert shows_code_page(signed_in.post("/ssprsetup/phone/", data))
    with time_machine.travel(timezone.now() + timedelta(seconds=45)):
        again = signed_in.post("/ssprsetup/phone/", data)
        assert again["Location"] == "/ssprsetup/phone/verify/"
        assert len(phone_outbox) == 1
        page = signed_in.get(again["Location"]).content.decode()
        assert "A code was sent a moment ago" not in page  # the wait is over: no wait to tell
        assert signed_in.post("/ssprsetup/phone/verify/", {"code": last_phone_code()})[
            "Location"
        ] == ("/ssprsetup/")
    assert len(phone_outbox) == 1


def test_a_call_asked_for_after_a_text_or_another_session_gets_its_own_code(
    signed_in, user, phone_outbox
):
    data = {"region": "GB", "number": "07400 123456", "channel": "sms"}
    signed_in.post("/ssprsetup/phone/", data)
    later = timezone.now() + timedelta(seconds=45)
    with time_machine.travel(later):
        assert shows_code_page(signed_in.post("/ssprsetup/phone/", {**data, "channel": "voice"}))
        assert [m.kind for m in phone_outbox] == ["sms", "voice"]
    other = Client()
    other.force_login(user)
    with time_machine.travel(later + timedelta(seconds=45)):
        assert shows_code_page(other.post("/ssprsetup/phone/", {**data, "channel": "voice"}))
        assert len(phone_outbox) == 3
        code = last_phone_code()
        assert other.post("/ssprsetup/phone/verify/", {"code": code})["Location"] == "/ssprsetup/"


def test_the_language_picker_on_the_code_page_comes_back_to_the_code_page(signed_in):
    response = signed_in.post(
        "/ssprsetup/phone/", {"region": "GB", "number": "07400 123456", "channel": "sms"}
    )
    assert shows_code_page(response)
    assert 'name="next" type="hidden" value="/ssprsetup/phone/verify/"' in response.content.decode()
    back = signed_in.post("/i18n/setlang/", {"language": "de", "next": "/ssprsetup/phone/verify/"})
    assert back["Location"] == "/ssprsetup/phone/verify/"


def test_a_code_row_gone_during_a_wrong_code_check_starts_again(signed_in, user, monkeypatch):
    """The row removed between the check and the page (the method purged meanwhile): the
    person is sent back to the start, never a server error."""
    from methods.code import flows as code_flows
    from methods.models import CheckOutcome, VerificationCode

    signed_in.post(
        "/ssprsetup/phone/", {"region": "GB", "number": "07400 123456", "channel": "sms"}
    )

    def refused_and_gone(**kwargs):
        VerificationCode.objects.filter(user=user).delete()
        return CheckOutcome.WRONG

    monkeypatch.setattr(code_flows, "method_confirm", refused_and_gone)
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": "000000"})
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/phone/"


def test_without_a_choice_of_how_no_code_is_sent_and_the_page_says_why(signed_in, phone_outbox):
    response = signed_in.post("/ssprsetup/phone/", {"region": "GB", "number": "07400 123456"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "How should we send the code?" in page and "Choose how we should send the code." in page
    response = signed_in.post(
        "/ssprsetup/phone/", {"region": "GB", "number": "07400 123456", "channel": "email"}
    )
    assert "Choose one of the ways offered to send the code." in response.content.decode()
    assert phone_outbox == []


def test_text_message_code_verifies_the_number(signed_in, user, phone_outbox):
    response = signed_in.post(
        "/ssprsetup/phone/", {"region": "GB", "number": "07400 123456", "channel": "sms"}
    )
    assert shows_code_page(response)
    (message,) = phone_outbox
    assert message.to == "+447400123456" and message.kind == "sms"
    code = last_phone_code()

    assert not AuthenticationPhone.objects.filter(user=user).exists()  # not before the code
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": code})
    assert response["Location"] == "/ssprsetup/"
    phone = AuthenticationPhone.objects.get(user=user)
    assert str(phone.number) == "+447400123456"
    assert phone.verified_at is not None
    signed_in.get("/ssprsetup/")  # shows the confirmation message once
    overview = signed_in.get("/ssprsetup/").content.decode()
    assert "+44 ••••••••56" in overview
    assert "7400 123456" not in overview  # partly masked when coming back


def test_voice_call_reads_the_digits_one_by_one_twice(signed_in, user, phone_outbox):
    signed_in.post("/ssprsetup/phone/", {"number": "+1 415 555 2671", "channel": "voice"})
    (call,) = phone_outbox
    assert call.kind == "voice"
    digits = re.findall(r"(?<!\d)(\d)\.", call.text)
    assert len(digits) == 12 and digits[:6] == digits[6:]
    # After a wrong entry the field still says the digits are read out.
    wrong = "000000" if "".join(digits[:6]) != "000000" else "111111"
    again = signed_in.post("/ssprsetup/phone/verify/", {"code": wrong}).content.decode()
    assert "The 6 digits read out in the call." in again
    # Past the wait after a failure, the right code.
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        response = signed_in.post("/ssprsetup/phone/verify/", {"code": "".join(digits[:6])})
        assert response["Location"] == "/ssprsetup/"
    assert AuthenticationPhone.objects.get(user=user).verified_at


def test_code_with_spaces_is_accepted(signed_in, user):
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    code = last_phone_code()
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": f" {code[:3]} {code[3:]} "})
    assert response["Location"] == "/ssprsetup/"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"region": "GB", "number": "hello"}, "number", "Enter a phone number using digits"),
        ({"region": "GB", "number": "12"}, "number", "cannot exist in the country"),
        ({"region": "GB", "number": "9" * 40}, "number", "Enter a phone number using digits"),
        ({"region": "GB", "number": ""}, "number", "Enter a phone number using digits"),
        ({"region": "", "number": "07400 123456"}, "region", "Choose the country"),
        ({"region": "XX", "number": "07400 123456"}, "region", "Select a valid choice"),
        ({"region": "GB", "number": "0909 090 1234"}, "number", "cannot receive codes"),
        ({"region": "GB", "number": "020 7183 8750 ext 12"}, "number", "to an extension"),
        ({}, "number", "Enter a phone number using digits"),
    ],
)
def test_bad_numbers_come_back_with_the_message_next_to_the_field(
    signed_in, user, phone_outbox, data, field, message
):
    response = signed_in.post("/ssprsetup/phone/", data)
    assert response.status_code == 200
    page = response.content.decode()
    error_block = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    assert error_block and message in error_block.group(1)
    assert f'aria-describedby="id_{field}_helptext id_{field}_error"' in page or (
        f'aria-describedby="id_{field}_error"' in page
    )
    assert phone_outbox == []
    assert not AuthenticationPhone.objects.filter(user=user).exists()


def test_numbers_outside_the_allowed_regions_are_refused(signed_in, policy, phone_outbox):
    policy.allowed_regions = "GB, IE"
    policy.save()
    page = signed_in.get("/ssprsetup/phone/").content.decode()
    assert "United States" not in page and "Ireland" in page
    response = signed_in.post("/ssprsetup/phone/", {"number": "+1 415 555 2671"})
    assert "does not accept phone numbers from this country" in response.content.decode()
    assert phone_outbox == []


def test_only_the_channels_the_policy_enables_are_offered(signed_in, policy, phone_outbox):
    policy.set_option("phone", "voice", False)
    policy.save()
    page = signed_in.get("/ssprsetup/phone/").content.decode()
    assert 'name="channel"' not in page  # one way only: nothing to choose
    # A call asked for anyway is not made: the code goes by text, the one way offered.
    response = signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "voice"})
    assert shows_code_page(response)
    (message,) = phone_outbox
    assert message.kind == "sms"
    # The resend form offers the same way only.
    response = signed_in.post("/ssprsetup/phone/send/", {"channel": "voice"})
    assert response.status_code == 200
    assert "Choose one of the ways offered" in response.content.decode()
    assert len(phone_outbox) == 1


def test_phone_pages_are_gone_when_the_policy_disables_the_phone(signed_in, policy):
    policy.set_option("phone", "sms", False)
    policy.set_option("phone", "voice", False)
    policy.save()
    assert signed_in.get("/ssprsetup/phone/").status_code == 404
    assert "Authentication phone" not in signed_in.get("/ssprsetup/").content.decode()


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "", "12 34 5x", "9" * 30])
def test_malformed_codes_are_refused_without_counting(signed_in, user, code):
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": code})
    assert response.status_code == 200
    assert not AuthenticationPhone.objects.filter(user=user).exists()
    assert "code" in response.content.decode().lower()
    # The right code still works afterwards.
    assert (
        signed_in.post("/ssprsetup/phone/verify/", {"code": last_phone_code()}).status_code == 302
    )


def test_wrong_and_expired_codes_read_the_same_and_a_quick_retry_is_told_how_long_to_wait(
    signed_in, user, settings
):
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    code = last_phone_code()
    wrong = "000000" if code != "000000" else "111111"

    def message(response):
        return re.search(r'id="id_code_error"><li>(.*?)</li>', response.content.decode()).group(1)

    settings.SSPR_CODE_THROTTLE_FACTOR = 60
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        wrong_message = message(signed_in.post("/ssprsetup/phone/verify/", {"code": wrong}))
        # The right code typed straight after a wrong one falls in the backoff: it is not
        # checked, and the page says so and for how long, without JavaScript.
        clock.shift(timedelta(seconds=15))
        throttled_message = message(signed_in.post("/ssprsetup/phone/verify/", {"code": code}))
        assert throttled_message == (
            "That was too soon after a wrong code, so it was not checked. Enter the code again "
            "in 45 seconds."
        )
        clock.shift(timedelta(seconds=44))
        one_second = message(signed_in.post("/ssprsetup/phone/verify/", {"code": code}))
        assert one_second.endswith("Enter the code again in 1 second.")
    with time_machine.travel(start + timedelta(minutes=11)):
        expired_message = message(signed_in.post("/ssprsetup/phone/verify/", {"code": code}))

    assert wrong_message == expired_message
    assert "not right or no longer valid" in wrong_message
    reasons = Event.objects.filter(kind=EventKind.CODE_FAILED).order_by("pk")
    assert [e.details["reason"] for e in reasons] == ["wrong", "throttled", "throttled", "expired"]


def test_verify_without_a_code_sent_goes_back_to_the_start(signed_in, user):
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": "123456"})
    assert response["Location"] == "/ssprsetup/phone/"
    response = signed_in.post("/ssprsetup/phone/send/", {"channel": "sms"})
    assert response["Location"] == "/ssprsetup/phone/"
    assert not AuthenticationPhone.objects.filter(user=user).exists()


def test_the_code_sent_again_from_another_tab_once_verified_says_so(signed_in, user):
    """Two tabs on the code page, or Back after verifying: the second sending of the code
    leads to the methods page, saying the phone is verified, not to an empty number form."""
    code = register_phone(signed_in)
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": code})
    assert response["Location"] == "/ssprsetup/"
    page = signed_in.get("/ssprsetup/").content.decode()
    assert "Authentication phone is already verified: +44 7400 123456." in page
    # The same page's "Text me a new code", and the page opened again: on to the methods.
    response = signed_in.post("/ssprsetup/phone/send/", {"channel": "sms"})
    assert response["Location"] == "/ssprsetup/"
    assert signed_in.get("/ssprsetup/phone/verify/")["Location"] == "/ssprsetup/"
    assert Event.objects.filter(kind=EventKind.METHOD_VERIFIED).count() == 1
    assert Event.objects.filter(kind=EventKind.CODE_SENT).count() == 1


def test_replayed_code_post_changes_nothing(signed_in, user):
    code = register_phone(signed_in)
    verified_at = AuthenticationPhone.objects.get(user=user).verified_at
    signed_in.post("/ssprsetup/phone/", {"number": "+447400654321", "channel": "sms"})
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": code})
    assert response.status_code == 200  # the new number's code is another one
    phone = AuthenticationPhone.objects.get(user=user)
    assert (str(phone.number), phone.verified_at) == ("+447400123456", verified_at)
    assert Event.objects.filter(kind=EventKind.METHOD_VERIFIED).count() == 1


def test_resend_waits_thirty_seconds_and_the_page_says_when(signed_in, phone_outbox):
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    page = signed_in.get("/ssprsetup/phone/verify/").content.decode()
    assert "You can ask for a new code in 30 seconds." in page
    response = signed_in.post("/ssprsetup/phone/send/", {"channel": "sms"}, follow=True)
    page = response.content.decode()
    # The message says why nothing was sent; the wait's own sentence says how long is left (and
    # counts it down), so the message names no number that would stand still beside it.
    assert "A code was sent a moment ago. Type it below, or ask for another one" in page
    assert "You can ask for a new code in 30 seconds." in page
    assert len(phone_outbox) == 1


def test_a_new_sign_in_within_the_wait_is_not_told_to_type_a_code_it_cannot_use(
    signed_in, user, phone_outbox
):
    """The code sent a moment ago belongs to the session that asked for it. Signed in again
    (a new session) within its wait, the same number asked again sends nothing yet, and the
    page says when another code can be asked for, not to type one that would be refused."""
    from tests.support.people import sign_in

    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    code = last_phone_code(phone_outbox)
    again = Client()
    sign_in(again, user.username)
    answer = again.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    page = answer.content.decode()
    assert "Type it below" not in page and not shows_code_page(answer)
    assert "You can ask for another one in 30 seconds." in page
    assert len(phone_outbox) == 1
    # Indeed, that code does not verify in the new session.
    refused = again.post("/ssprsetup/phone/verify/", {"code": code})
    assert refused.status_code != 302 or refused["Location"] != "/ssprsetup/"
    assert not AuthenticationPhone.objects.filter(user=user, verified_at__isnull=False).exists()


def test_the_wait_carries_its_words_for_each_second_left_in_the_readers_language(
    signed_in, phone_outbox
):
    """The page counts the wait down (static/js/true-for.js) with words the server gave it for
    each second left, so a language with several plural forms reads right at every count."""
    import html
    import json
    import re

    signed_in.post("/i18n/setlang/", {"language": "pl", "next": "/ssprsetup/"})
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    page = signed_in.get("/ssprsetup/phone/verify/").content.decode()
    found = re.search(
        r'<p data-true-for="(\d+)" data-counting="([^"]*)" data-then="([^"]*)">([^<]*)</p>', page
    )
    assert found, page
    seconds, counting, said = int(found[1]), json.loads(html.unescape(found[2])), found[4]
    assert html.unescape(found[3]) == "Możesz teraz poprosić o nowy kod."
    assert seconds == 30 and len(counting) == 30
    assert said == "O nowy kod możesz poprosić za 30 sekund." == counting[29]
    assert counting[0] == "O nowy kod możesz poprosić za 1 sekundę."
    assert counting[2] == "O nowy kod możesz poprosić za 3 sekundy."
    assert counting[4] == "O nowy kod możesz poprosić za 5 sekund."


def test_a_long_wait_is_not_counted_down(signed_in, phone_outbox, settings):
    """A wait set longer than five minutes is said, not counted down a second at a time: its
    words for every second would weigh more than the page."""
    settings.SSPR_CODE_RESEND_SECONDS = 3600
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    page = signed_in.get("/ssprsetup/phone/verify/").content.decode()
    assert 'data-true-for="3600" data-counting="[]"' in page
    assert "You can ask for a new code in 3600 seconds." in page


def test_code_from_another_session_does_not_verify(user, phone_outbox):
    from tests.support.people import sign_in

    tab_a, tab_b = Client(), Client()
    sign_in(tab_a, user.username)
    sign_in(tab_b, user.username)
    tab_a.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    tab_b.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    response = tab_b.post("/ssprsetup/phone/verify/", {"code": last_phone_code()})
    assert response.status_code == 200
    assert not AuthenticationPhone.objects.filter(user=user).exists()


def test_a_corrected_number_gets_its_code_at_once_and_never_stores_the_first(
    signed_in, user, phone_outbox
):
    """A typo corrected within the resend cooldown: the corrected number is not a resend, so
    its code goes at once; the first code is void, and only the corrected number, once its own
    code is entered, is stored (docs/security.md §4, §8)."""
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    first_code = last_phone_code()
    # "Change it": the corrected number, within the cooldown.
    response = signed_in.post("/ssprsetup/phone/", {"number": "+447400123457", "channel": "sms"})
    assert shows_code_page(response)
    assert [message.to for message in phone_outbox] == ["+447400123456", "+447400123457"]
    page = signed_in.get("/ssprsetup/phone/verify/").content.decode()
    assert "+44 7400 123457" in page and "You can ask for a new code in 30 seconds." in page
    # The first code verifies nothing now.
    signed_in.post("/ssprsetup/phone/verify/", {"code": first_code})
    assert not AuthenticationPhone.objects.filter(user=user).exists()
    # Sending again to the corrected number is a resend: it waits.
    again = signed_in.post("/ssprsetup/phone/send/", {"channel": "sms"}, follow=True)
    assert "A code was sent a moment ago" in again.content.decode()
    assert len(phone_outbox) == 2

    response = signed_in.post("/ssprsetup/phone/verify/", {"code": last_phone_code()}, follow=True)
    assert "+44 7400 123457" in response.content.decode()
    assert str(AuthenticationPhone.objects.get(user=user).number) == "+447400123457"


def test_corrections_still_count_towards_the_hourly_limits(signed_in, settings, phone_outbox):
    """Going back and forth between numbers skips the cooldown, never the hourly limits."""
    from methods.conf import app_settings

    settings.SSPR_SEND_LIMITS = {**app_settings.specs["SEND_LIMITS"].default, "destination": 2}
    numbers = ["+447400123456", "+447400123457"] * 2
    for number in numbers:
        sent = signed_in.post("/ssprsetup/phone/", {"number": number, "channel": "sms"})
        assert shows_code_page(sent)
    assert [message.to for message in phone_outbox] == numbers
    refused = signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    assert refused.status_code == 429
    assert "Too many codes were asked for" in refused.content.decode()
    assert len(phone_outbox) == 4


def test_a_first_send_that_meets_another_first_send_uses_its_row(
    signed_in, user, phone_outbox, monkeypatch
):
    """Two first sends at once: the one whose insert loses to the other's row carries on with
    that row (one row per person, method and purpose), and its code goes out."""
    from methods.models import MethodKind, Purpose, VerificationCode

    VerificationCode.objects.create(  # the other send's row, made after this one looked
        user=user, name="x", method=MethodKind.AUTHENTICATION_PHONE, purpose=Purpose.REGISTER
    )
    real, looked = VerificationCode.locked_for, []

    def first_look_finds_nothing(**kwargs):
        looked.append(1)
        return None if len(looked) == 1 else real(**kwargs)

    monkeypatch.setattr(VerificationCode, "locked_for", first_look_finds_nothing)
    response = signed_in.post(
        "/ssprsetup/phone/", {"region": "GB", "number": "07400 123456", "channel": "sms"}
    )
    assert shows_code_page(response)
    assert len(looked) == 2 and len(phone_outbox) == 1
    assert VerificationCode.objects.filter(user=user).count() == 1
    monkeypatch.undo()
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": last_phone_code()})
    assert response["Location"] == "/ssprsetup/"


def test_a_setup_page_reads_the_persons_methods_once(signed_in):
    """Its two checks (the proof before a change, what still counts) share one read on a GET,
    which changes nothing; a POST reads them again for each, as it may change them between."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def reads(call, *args) -> int:
        with CaptureQueriesContext(connection) as queries:
            call(*args)
        return sum("sspr_cools_phone" in query["sql"] for query in queries.captured_queries)

    assert reads(signed_in.get, "/ssprsetup/phone/") == 1
    assert reads(signed_in.post, "/ssprsetup/phone/", {"number": "not a number"}) == 2


def test_a_refused_send_keeps_the_pages_hint_and_ties_a_refused_number_to_its_field(
    signed_in, settings, monkeypatch, phone_outbox
):
    """The number page, shown again after a refused send, still says how many methods are
    needed; a refusal of the number itself is next to the number field, a limit above the
    form."""
    from methods.registry import REGISTRY

    settings.SSPR_SEND_LIMITS = {"user": 1}
    settings.SSPR_CODE_RESEND_SECONDS = 0
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    limited = signed_in.post("/ssprsetup/phone/", {"number": "+447400123457", "channel": "sms"})
    assert limited.status_code == 429
    page = limited.content.decode()
    assert "more verified methods from you, and this one counts" in page
    assert "Too many codes were asked for" in page and 'aria-invalid="true"' not in page

    settings.SSPR_SEND_LIMITS = {"user": 100}
    phone = REGISTRY["phone"]
    monkeypatch.setattr(type(phone), "destination_allowed", lambda self, *args: False)
    refused = signed_in.post("/ssprsetup/phone/", {"number": "+447400123458", "channel": "sms"})
    page = refused.content.decode()
    assert refused.status_code == 200
    assert "more verified methods from you, and this one counts" in page
    number = re.search(r"<input[^>]*name=\"number\"[^>]*>", page).group(0)
    assert 'aria-invalid="true"' in number and "id_number_error" in number
    assert len(phone_outbox) == 1


def test_verifying_the_number_gives_the_session_a_new_key(signed_in, user, phone_outbox):
    """A method added is a step passed (docs/security.md §23): the key before it no longer
    opens the person's pages."""
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    before = signed_in.session.session_key
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": last_phone_code()})
    assert response["Location"] == "/ssprsetup/"
    assert AuthenticationPhone.objects.get(user=user).verified_at is not None
    assert signed_in.session.session_key != before
    stale = Client()
    stale.cookies["sessionid"] = before
    assert stale.get("/ssprsetup/")["Location"].startswith("/ssprsetup/signin/")


@pytest.mark.parametrize("script", ["fullwidth", "arabic-indic"])
def test_a_code_typed_in_another_scripts_digits_verifies(signed_in, user, phone_outbox, script):
    """A phone's keyboard in Japanese or Arabic may type the code's digits in its own script:
    they are the same digits, not a wrong code that uses up a try."""
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    code = last_phone_code()
    zero = {"fullwidth": 0xFF10, "arabic-indic": 0x0660}[script]
    typed = "".join(chr(zero + int(digit)) for digit in code)
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": typed})
    assert response["Location"] == "/ssprsetup/"
    assert AuthenticationPhone.objects.get(user=user).verified_at is not None


def test_the_code_page_after_a_send_does_not_read_the_code_again(signed_in, phone_outbox):
    """The number sent answers with the code page, drawn from the code's row as the send left
    it: the row is read to see whether this is a form sent again, then locked to issue the
    code, and not a third time for the page. A first code has no row to lock: it is inserted
    straight away."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from methods.registry import REGISTRY

    # A first code, then a corrected number.
    for number, expected in (("+447400123456", 1), ("+447400123457", 2)):
        with CaptureQueriesContext(connection) as queries:
            page = signed_in.post("/ssprsetup/phone/", {"number": number, "channel": "sms"})
        assert b'name="code"' in page.content
        assert REGISTRY["phone"].display(number) in page.content.decode()
        reads = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].startswith('SELECT "methods_verificationcode"')
        ]
        assert len(reads) == expected, reads
    code = "".join(ch for ch in phone_outbox[-1].text if ch.isdigit())[:6]
    assert signed_in.post("/ssprsetup/phone/verify/", {"code": code}).status_code == 302


def test_a_right_code_is_read_once_in_its_locked_check(signed_in, user, phone_outbox):
    """The code sent: a right code is read once, locked, where it is checked; a wrong one is
    read again after the check, for the page that says so."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from methods.models import AuthenticationPhone

    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    code = "".join(ch for ch in phone_outbox[-1].text if ch.isdigit())[:6]

    def code_reads(answer: str):
        with CaptureQueriesContext(connection) as queries:
            response = signed_in.post("/ssprsetup/phone/verify/", {"code": answer})
        reads = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].startswith('SELECT "methods_verificationcode"')
        ]
        return response, reads

    wrong = "000000" if code != "000000" else "111111"
    response, reads = code_reads(wrong)
    assert "That code is not right or no longer valid" in response.content.decode()
    assert len(reads) == 2, reads
    assert not AuthenticationPhone.objects.filter(user=user).exists()
    response, reads = code_reads(code)
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/"
    assert len(reads) == 1, reads
    assert AuthenticationPhone.objects.get(user=user).number == "+447400123456"


def test_a_code_sent_elsewhere_is_neither_checked_nor_used_up(signed_in, user, monkeypatch):
    """The person's page is about the number they last entered; the code row was issued for
    another meanwhile (another tab). A right code for that other number, posted on this page,
    verifies nothing, is not used up and is not counted as a failure; with no code row at all,
    the page leads back to the start and records nothing."""
    from audit.models import Event, EventKind
    from methods.code import flows as code_flows
    from methods.models import AuthenticationPhone, Purpose, VerificationCode
    from methods.registry import REGISTRY
    from policy.models import Policy

    monkeypatch.setattr("methods.code.models.random_number_token", lambda digits: "424242")
    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    binding = signed_in.session[code_flows.SESSION_BINDING_KEY]
    elsewhere = code_flows.code_issue(
        user=user,
        method=REGISTRY["phone"],
        purpose=Purpose.REGISTER,
        destination="+447400999999",
        channel="sms",
        binding=binding,
        ip="192.0.2.1",
        policy=Policy.load(),
    )
    assert elsewhere.sent
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": "424242"})
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/phone/"
    assert not AuthenticationPhone.objects.filter(user=user).exists()
    row = VerificationCode.objects.get(user=user)
    assert row.token and row.attempts == 0 and row.destination == "+447400999999"
    assert not Event.objects.filter(kind=EventKind.CODE_FAILED).exists()

    signed_in.post("/ssprsetup/phone/", {"number": "+447400123456", "channel": "sms"})
    VerificationCode.objects.filter(user=user).delete()
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": "424242"})
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/phone/"
    assert not Event.objects.filter(kind=EventKind.CODE_FAILED).exists()


def test_a_first_phone_is_stored_with_one_statement_and_a_new_number_replaces_it(
    signed_in, user, phone_outbox
):
    """The person's first phone: one INSERT, no read of a row that is not there. A new number
    later: the row is read, locked and written again, and the change says it replaced one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audit.models import Event, EventKind
    from methods.models import AuthenticationPhone
    from tests.support.registering import prove_with_phone

    def verify(number):
        signed_in.post("/ssprsetup/phone/", {"number": number, "channel": "sms"})
        code = "".join(ch for ch in phone_outbox[-1].text if ch.isdigit())[:6]
        with CaptureQueriesContext(connection) as queries:
            assert signed_in.post("/ssprsetup/phone/verify/", {"code": code}).status_code == 302
        return [
            q["sql"].split()[0]
            for q in queries.captured_queries
            if '"methods_authenticationphone"' in q["sql"].split(" WHERE ")[0]
        ]

    assert verify("+447400123456") == ["INSERT"]
    assert AuthenticationPhone.objects.get(user=user).number == "+447400123456"
    prove_with_phone(signed_in, next_url="/ssprsetup/phone/")
    assert verify("+447400123457")[-2:] == ["SELECT", "UPDATE"]
    assert AuthenticationPhone.objects.get(user=user).number == "+447400123457"
    assert Event.objects.filter(kind=EventKind.METHOD_CHANGED, subject=user).exists()


def test_cancel_on_the_code_page_abandons_the_change(signed_in, user):
    """Cancel forgets the number and voids its code: entered afterwards (this tab, another
    one), the code changes nothing, and the phone registered before is kept."""
    register_phone(signed_in, "+447400123456")
    sent = signed_in.post(
        "/ssprsetup/phone/", {"region": "", "number": "+447400999999", "channel": "sms"}
    )
    assert shows_code_page(sent) and 'action="/ssprsetup/phone/cancel/"' in sent.content.decode()
    code = last_phone_code()
    assert signed_in.get("/ssprsetup/phone/cancel/").status_code == 405  # a link changes nothing
    cancelled = signed_in.post("/ssprsetup/phone/cancel/", follow=True)
    assert "Cancelled: nothing was changed." in cancelled.content.decode()
    later = signed_in.post("/ssprsetup/phone/verify/", {"code": code}, follow=True)
    assert "Start by entering the details to verify." in later.content.decode()
    assert AuthenticationPhone.objects.get(user=user).number == "+447400123456"


def test_cancel_in_another_session_leaves_the_persons_code_alone(signed_in, user):
    """Someone signed in elsewhere with the person's password presses Cancel on the phone's
    code page while the person waits for a code: the person's code still verifies in her
    own session."""
    from tests.support.people import sign_in

    sent = signed_in.post(
        "/ssprsetup/phone/", {"region": "", "number": "+447400123456", "channel": "sms"}
    )
    assert shows_code_page(sent)
    code = last_phone_code()
    elsewhere = Client()
    sign_in(elsewhere, user.get_username())
    assert elsewhere.post("/ssprsetup/phone/cancel/")["Location"] == "/ssprsetup/"
    assert signed_in.post("/ssprsetup/phone/verify/", {"code": code})["Location"] == "/ssprsetup/"
    assert AuthenticationPhone.objects.get(user=user).verified_at
