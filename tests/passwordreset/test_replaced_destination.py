"""A code proves the number or address it was sent to only while that is still the person's
(docs/security.md §4): whoever holds a lost phone cannot finish a reset, or pass a caller check,
with a code it received before the person replaced the number."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from methods.models import AuthenticationEmail, AuthenticationPhone, OfficePhone
from methods.registry import REGISTRY
from tests.support.access_passes import issue, the_pass, use_pass
from tests.support.codes import last_email_code, last_phone_code
from tests.support.people import past_sign_in_check
from tests.support.registering import proved_a_moment_ago, register_phone
from tests.support.resets import (
    reset_code_page,
    shows_finish_page,
    shows_reset_code_page,
    start_reset,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "thief-owns-this-now-93"


def _refused_for_the_old_destination(person) -> None:
    failed = Event.objects.filter(kind=EventKind.CODE_FAILED, subject=person).latest("pk")
    assert failed.details["reason"] == "no_longer_registered"


def test_a_code_sent_to_a_lost_phone_does_not_reset_once_the_number_is_replaced(
    registered, helpdesk_client
):
    thief = reset_code_page("rita", "+447400123456")  # holds rita's old handset
    stolen = last_phone_code()
    # Rita reports the phone lost; with a pass from the helpdesk she puts her new number in.
    rita = Client()
    use_pass(rita, "rita", the_pass(issue(helpdesk_client, registered)))
    register_phone(rita, number="+447400999888")
    assert str(AuthenticationPhone.objects.get(user=registered).number) == "+447400999888"

    answer = thief.post("/passwordreset/phone/code/", {"code": stolen})
    assert not shows_finish_page(answer) and answer.status_code == 200
    assert "We could not verify you with that." in answer.content.decode()
    _refused_for_the_old_destination(registered)
    thief.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    registered.refresh_from_db()
    assert not registered.check_password(NEW_PASSWORD)
    # Spent: typed again, it is no live code at all.
    thief.post("/passwordreset/phone/code/", {"code": stolen})
    failed = Event.objects.filter(kind=EventKind.CODE_FAILED, subject=registered).latest("pk")
    assert failed.details["reason"] == "no_code"


def _replace_email(person):
    AuthenticationEmail.objects.filter(user=person).update(
        email="rita.new@example.net", verified_at=timezone.now()
    )


def _bounce_email(person):
    REGISTRY["email"].unverify(user=person, destination="rita.home@example.net")


def _remove_email(person):
    AuthenticationEmail.objects.filter(user=person).delete()


@pytest.mark.parametrize(
    "change", [_replace_email, _bounce_email, _remove_email], ids=["replaced", "bounced", "removed"]
)
def test_a_code_sent_to_an_address_no_longer_registered_proves_nothing(client, registered, change):
    assert start_reset(client, "rita").status_code == 302
    sent = client.post("/passwordreset/email/", {"email": "rita.home@example.net"})
    assert shows_reset_code_page(sent, "email")
    code = last_email_code()
    change(registered)
    assert not shows_finish_page(client.post("/passwordreset/email/code/", {"code": code}))
    _refused_for_the_old_destination(registered)


def test_a_code_sent_to_the_office_phone_before_an_administrator_changed_it(client, office, policy):
    policy.set_option("office", "enabled", True)
    policy.save()
    assert start_reset(client, "rita").status_code == 302
    sent = client.post("/passwordreset/office-phone/", {"number": "+44 20 7183 8750"})
    assert shows_reset_code_page(sent, "office-phone")
    code = last_phone_code()
    OfficePhone.objects.filter(user=office).update(number="+442071838799")
    answer = client.post("/passwordreset/office-phone/code/", {"code": code})
    assert not shows_finish_page(answer)
    _refused_for_the_old_destination(office)


def test_the_same_code_still_resets_while_the_number_is_the_persons(client, registered):
    """The check costs a reset nothing when nothing changed (the control for the above)."""
    client = reset_code_page("rita", "+447400123456")
    AuthenticationEmail.objects.filter(user=registered).update(email="rita.new@example.net")
    assert shows_finish_page(client.post("/passwordreset/phone/code/", {"code": last_phone_code()}))


def test_a_caller_check_code_sent_before_the_number_was_replaced_is_not_verified(
    helpdesk_client, registered
):
    address = f"/helpdesk/users/{registered.pk}/verify/"
    assert helpdesk_client.post(address, {"method": "phone"})["Location"] == address + "code/"
    code = last_phone_code()
    AuthenticationPhone.objects.filter(user=registered).update(
        number="+447400999888", verified_at=timezone.now()
    )
    page = helpdesk_client.post(address + "code/", {"code": code}).content.decode()
    assert "Not verified." in page
    _refused_for_the_old_destination(registered)


@pytest.mark.parametrize("change", ["removed", "replaced"])
def test_a_method_the_person_takes_off_during_a_reset_no_longer_finishes_it(
    registered, policy, change
):
    """A thief with Rita's lost phone passes its code; before they send the new password Rita
    removes the phone, or replaces it (with no cooling-off set, which would otherwise hold
    the new number back): the phone's pass counts for nothing, and nothing is changed."""
    policy.cooling_off_hours = 0
    policy.save()
    thief = reset_code_page("rita", "+447400123456")
    assert shows_finish_page(thief.post("/passwordreset/phone/code/", {"code": last_phone_code()}))
    rita = past_sign_in_check(Client(), registered)
    proved_a_moment_ago(rita)
    if change == "removed":
        rita.post("/ssprsetup/phone/remove/")
        assert not AuthenticationPhone.objects.filter(user=registered).exists()
    else:
        register_phone(rita, number="+447400999888")
    answer = thief.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert answer["Location"] == "/passwordreset/"
    page = thief.get("/passwordreset/").content.decode()
    assert "a method you verified in this reset has been removed or changed" in page
    registered.refresh_from_db()
    assert not registered.check_password(NEW_PASSWORD)
    refused = Event.objects.get(kind=EventKind.RESET_REFUSED, subject=registered)
    assert refused.details["reason"] == "methods_changed"
    assert refused.details["methods"] == ["authentication_phone"]
    assert not Event.objects.filter(kind=EventKind.PASSWORD_RESET).exists()
    # The attempt is over: its new password's page is not offered again.
    assert not shows_finish_page(thief.get("/passwordreset/finish/", follow=True))
    assert not shows_finish_page(
        thief.post(
            "/passwordreset/finish/",
            {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
            follow=True,
        )
    )


def test_the_new_password_page_is_not_offered_once_a_method_it_passed_was_removed(
    registered, policy
):
    """Opened again after Rita removed the phone (a reload, another tab), the last step's
    page does not offer a form that would be refused: the attempt ends there and the first
    page says why."""
    thief = _past_the_phone_then_rita_removes(registered, "phone")
    assert not AuthenticationPhone.objects.filter(user=registered).exists()
    page = thief.get("/passwordreset/finish/")
    assert page["Location"] == "/passwordreset/"
    said = thief.get("/passwordreset/").content.decode()
    # Said as an alert, which a screen reader reads out first.
    alert = re.search(r'<div role="alert">(.*?)</div>', said, re.S).group(1)
    assert "a method you verified in this reset has been removed or changed" in alert
    refused = Event.objects.get(kind=EventKind.RESET_REFUSED, subject=registered)
    assert refused.details == {**refused.details, "reason": "methods_changed"}
    assert not shows_finish_page(thief.get("/passwordreset/finish/", follow=True))


def test_a_step_opened_again_after_that_says_why_the_attempt_ended(registered, policy):
    """The reason is told once as a message; a step's address opened again afterwards (another
    tab, history) still says the change ended it, not that time ran out, for as long as the
    attempt could have lasted."""
    thief = _past_the_phone_then_rita_removes(registered, "phone")
    thief.get("/passwordreset/finish/", follow=True)  # ended; the message is read
    again = thief.get("/passwordreset/phone/code/").content.decode()
    assert 'id="withdrawn"' in again
    assert "a method you verified in this reset has been removed or changed" in again
    assert "within 15 minutes" not in again

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        later = thief.get("/passwordreset/phone/code/").content.decode()
    assert "within 15 minutes" in later
    assert 'id="withdrawn"' not in later


def test_a_proof_begun_after_that_in_the_same_browser_speaks_for_itself(registered, policy):
    """The reason belongs to the attempt it ended: a proof before a change begun afterwards in
    the same browser, once it is over, does not say a method changed in it."""
    browser = _past_the_phone_then_rita_removes(registered, "phone")
    browser.get("/passwordreset/finish/", follow=True)  # ended, and said once
    past_sign_in_check(browser, registered)
    assert browser.get("/passwordreset/prove/?next=/ssprsetup/")["Location"] == (
        "/passwordreset/methods/"
    )
    browser.post("/passwordreset/email/", {"email": "rita.home@example.net"})
    browser.post("/passwordreset/email/code/", {"code": last_email_code()})
    assert browser.get("/passwordreset/methods/")["Location"] == "/ssprsetup/"  # proved
    over = browser.get("/passwordreset/email/code/").content.decode()
    assert 'id="withdrawn"' not in over


def _past_the_phone_then_rita_removes(registered, slug: str) -> Client:
    """A reset that passed the phone's code and reached the new password's page; then Rita,
    signed in elsewhere, removes her method `slug`. Returns the reset's browser."""
    reset = reset_code_page("rita", "+447400123456")
    assert shows_finish_page(reset.post("/passwordreset/phone/code/", {"code": last_phone_code()}))
    rita = past_sign_in_check(Client(), registered)
    proved_a_moment_ago(rita)
    rita.post(f"/ssprsetup/{slug}/remove/")
    return reset


def test_a_change_to_another_method_leaves_the_reset_as_it_was(registered, policy):
    reset = _past_the_phone_then_rita_removes(registered, "email")
    assert not AuthenticationEmail.objects.filter(user=registered).exists()
    answer = reset.post(
        "/passwordreset/finish/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert "Your password is changed" in answer.content.decode()
    registered.refresh_from_db()
    assert registered.check_password(NEW_PASSWORD)
