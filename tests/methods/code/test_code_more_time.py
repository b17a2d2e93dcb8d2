"""A code's 10 minutes can be extended, with or without JavaScript, ten times (WCAG 2.2,
2.2.1; docs/security.md §2): at setup and at reset. More time is never more tries, an ended
code gets none, and at reset every name gets the same answers (docs/security.md,
"No enumeration")."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from methods.models import AuthenticationPhone, Purpose, VerificationCode
from tests.support.codes import last_phone_code
from tests.support.registering import shows_code_page
from tests.support.resets import shows_finish_page, start_reset

pytestmark = pytest.mark.django_db

NUMBER = "+447400654321"
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def registered(make_user, settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000  # a quick proof of work at the portal's first page
    rita = make_user("rita")
    AuthenticationPhone.objects.create(
        user=rita, number="+447400123456", verified_at=timezone.now()
    )
    return rita


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def ask_for_a_setup_code(client: Client) -> str:
    sent = client.post("/ssprsetup/phone/", {"region": "", "number": NUMBER, "channel": "sms"})
    assert shows_code_page(sent)
    return last_phone_code()


def test_a_setup_code_given_more_time_ten_times_still_verifies(signed_in, user, clock):
    code = ask_for_a_setup_code(signed_in)
    page = signed_in.get("/ssprsetup/phone/verify/").content.decode()
    assert 'action="/ssprsetup/phone/more-time/"' in page
    assert "another 10 minutes up to 10 times" in page
    for left in range(9, -1, -1):
        clock.shift(datetime.timedelta(minutes=9))
        answer = signed_in.post("/ssprsetup/phone/more-time/", **JSON)
        assert answer.status_code == 200
        assert answer.json() == {
            "seconds_left": 600,
            "extensions_left": left,
            # The sentence beside the button, for the count left now (the script shows it).
            "hint": (
                f"Need more time to enter the code? You can ask for another 10 minutes up to "
                f"{left} times."
                if left > 1
                else "Need more time to enter the code? You can ask for another 10 minutes "
                "once more."
                if left == 1
                else ""
            ),
        }
    assert signed_in.post("/ssprsetup/phone/more-time/", **JSON).status_code == 409
    page = signed_in.get("/ssprsetup/phone/verify/").content.decode()
    assert "more-time" not in page  # no more to give: a new code is the way on
    clock.shift(datetime.timedelta(minutes=9))  # 99 minutes after it was sent
    response = signed_in.post("/ssprsetup/phone/verify/", {"code": code})
    assert response["Location"] == "/ssprsetup/"
    assert AuthenticationPhone.objects.get(user=user).number == NUMBER


def test_without_javascript_the_button_gives_more_time_and_says_so(signed_in, clock):
    ask_for_a_setup_code(signed_in)
    clock.shift(datetime.timedelta(minutes=9, seconds=30))
    response = signed_in.post("/ssprsetup/phone/more-time/", follow=True)
    assert response.redirect_chain == [("/ssprsetup/phone/verify/", 302)]
    page = response.content.decode()
    assert "Your code works for another 10 minutes." in page
    assert 'data-seconds-left="600"' in page
    assert "up to 9 times" in page


def test_more_time_is_not_more_tries(signed_in, user, clock):
    code = ask_for_a_setup_code(signed_in)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):  # the code is void after five wrong entries
        clock.shift(datetime.timedelta(minutes=1))
        signed_in.post("/ssprsetup/phone/verify/", {"code": wrong})
    assert signed_in.post("/ssprsetup/phone/more-time/", **JSON).status_code == 410
    signed_in.post("/ssprsetup/phone/verify/", {"code": code})
    assert not AuthenticationPhone.objects.filter(user=user).exists()


def test_the_page_says_how_long_a_code_works_only_while_it_does(signed_in, clock):
    """Sent: valid for 10 minutes. Extended: the block says how long is left. Ended: the
    page says so, and no longer that the code is valid for 10 minutes."""
    ask_for_a_setup_code(signed_in)
    assert (
        "It is valid for 10 minutes." in signed_in.get("/ssprsetup/phone/verify/").content.decode()
    )
    clock.shift(datetime.timedelta(minutes=9))
    signed_in.post("/ssprsetup/phone/more-time/")
    page = signed_in.get("/ssprsetup/phone/verify/").content.decode()
    assert "It is valid for 10 minutes." not in page
    assert "This code has stopped working" not in page
    clock.shift(datetime.timedelta(minutes=10, seconds=1))
    page = signed_in.get("/ssprsetup/phone/verify/").content.decode()
    assert "This code has stopped working: ask for a new one below." in page
    assert "It is valid for 10 minutes." not in page


def test_an_ended_code_gets_no_more_time(signed_in, user, clock):
    ask_for_a_setup_code(signed_in)
    clock.shift(datetime.timedelta(minutes=10, seconds=1))
    assert signed_in.post("/ssprsetup/phone/more-time/", **JSON).status_code == 410
    response = signed_in.post("/ssprsetup/phone/more-time/", follow=True)
    assert "Your code has stopped working. Ask for a new one." in response.content.decode()
    code = VerificationCode.objects.get(user=user, purpose=Purpose.REGISTER)
    assert code.extensions == 0 and code.valid_until < timezone.now()


def test_more_time_needs_the_person_signed_in(client, clock):
    response = client.post("/ssprsetup/phone/more-time/")
    assert response.status_code == 302 and "/ssprsetup/signin/" in response["Location"]


def reset_with_more_time(client: Client, username: str, clock) -> list[tuple[int, dict]]:
    start_reset(client, username)
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    answers = []
    for _ in range(11):
        clock.shift(datetime.timedelta(minutes=9))
        client.post("/passwordreset/more-time/", **JSON)  # the attempt's own 15 minutes
        answer = client.post("/passwordreset/phone/code/more-time/", **JSON)
        answers.append((answer.status_code, answer.json()))
    return answers


def test_a_reset_code_given_more_time_still_works_long_after(client, registered, clock):
    answers = reset_with_more_time(client, "rita", clock)
    assert [status for status, _ in answers] == [200] * 10 + [409]
    assert answers[0][1]["seconds_left"] == 600 and answers[0][1]["extensions_left"] == 9
    page = client.get("/passwordreset/phone/code/").content.decode()
    assert "more-time" not in page.replace("/passwordreset/more-time/", "")
    response = client.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert shows_finish_page(response)  # 99 minutes after it was sent


def test_the_code_page_names_each_more_time_button_for_what_it_extends(client, registered):
    """A reset's code page has two: the attempt's 15 minutes and the code's 10. A screen reader
    listing the page's buttons tells them apart by name, not only by the sentence beside."""
    start_reset(client, "rita")
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    page = client.get("/passwordreset/phone/code/").content.decode()
    buttons = re.findall(r'<button type="submit"[^>]*>(More time[^<]*)<', page)
    # Named on screen as for a screen reader: two buttons that look alike would not say which.
    assert buttons == ["More time for this code", "More time for this reset"]


def test_more_time_for_a_reset_code_answers_every_name_alike(registered, clock):
    assert reset_with_more_time(Client(), "rita", clock) == reset_with_more_time(
        Client(), "nobody-here", clock
    )


def test_a_reset_code_that_ended_gets_no_more_time(client, registered, clock):
    start_reset(client, "rita")
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    clock.shift(datetime.timedelta(minutes=10, seconds=1))
    answer = client.post("/passwordreset/phone/code/more-time/", **JSON)
    assert answer.status_code == 410
    response = client.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert response.status_code == 200  # refused: the code ended


def test_a_reset_code_in_its_last_second_still_gets_more_time(client, registered, clock):
    start_reset(client, "rita")
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    clock.shift(datetime.timedelta(seconds=599, milliseconds=600))
    answer = client.post("/passwordreset/phone/code/more-time/", **JSON)
    assert answer.status_code == 200 and answer.json()["seconds_left"] == 600
    clock.shift(datetime.timedelta(minutes=5))
    response = client.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert shows_finish_page(response)


def test_another_attempt_for_the_same_name_cannot_touch_the_code(client, registered, clock):
    """Someone who knows only the name starts their own attempt and presses More time: the
    person's live code, asked for in their own session, is not extended (nor its extensions
    spent), and the person's own presses still work."""
    start_reset(client, "rita")
    client.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    stranger = Client()
    start_reset(stranger, "rita")
    stranger.post("/passwordreset/phone/", {"number": "+447400999999", "channel": "sms"})
    for _ in range(10):
        assert stranger.post("/passwordreset/phone/code/more-time/", **JSON).status_code == 200
    code = VerificationCode.objects.get(user=registered, purpose=Purpose.RESET)
    assert code.extensions == 0
    clock.shift(datetime.timedelta(minutes=9))
    client.post("/passwordreset/more-time/", **JSON)  # the attempt's own 15 minutes
    answer = client.post("/passwordreset/phone/code/more-time/", **JSON)
    assert answer.json()["seconds_left"] == 600 and answer.json()["extensions_left"] == 9
    code.refresh_from_db()
    assert code.extensions == 1
    clock.shift(datetime.timedelta(minutes=9))  # 18 minutes after it was sent
    client.post("/passwordreset/more-time/", **JSON)
    response = client.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert shows_finish_page(response)
