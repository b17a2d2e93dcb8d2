"""Cooling-off (docs/security.md rule 69, methods/cooling.py): a method added or replaced by
someone who already had methods counts for a reset only beside an older one until the policy's
hours have passed; a first registration and a pass's session do not cool off; every page that
says whether the person can reset says what is enforced."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from audit.models import Event, EventKind
from methods.models import AuthenticationEmail, AuthenticationPhone, MethodChange, SelfServiceBlock
from methods.passkey.models import Passkey
from policy.models import Policy
from tests.methods.passkey.test_passkey import SETUP as PASSKEY_SETUP
from tests.methods.passkey.test_passkey import add_key, reset_with
from tests.support.access_passes import PASS_PATTERN, helpdesk_group, issue, the_pass, use_pass
from tests.support.codes import last_email_code, last_phone_code
from tests.support.people import past_sign_in_check, sign_in
from tests.support.registering import prove_with_phone, register_email, register_phone
from tests.support.resets import shows_finish_page, start_reset
from tests.support.soft_key import SoftKey

pytestmark = pytest.mark.django_db

NUMBER = "+447400123456"
NEW_ADDRESS = "rita.new@example.net"


@pytest.fixture
def rita(make_user):
    """Registered another day: a verified phone."""
    user = make_user("rita")
    AuthenticationPhone.objects.create(user=user, number=NUMBER, verified_at=timezone.now())
    return user


def add_email_in_a_new_session(address=NEW_ADDRESS) -> Client:
    client = Client()
    sign_in(client, "rita")
    prove_with_phone(client, NUMBER)
    register_email(client, address)
    return client


def reset_with_email(client: Client, address=NEW_ADDRESS):
    start_reset(client, "rita")
    client.post("/passwordreset/email/", {"email": address})
    return client.post("/passwordreset/email/code/", {"code": last_email_code()})


def test_a_method_added_by_someone_who_had_methods_cools_off(rita):
    client = add_email_in_a_new_session()
    change = MethodChange.objects.get(user=rita, method="authentication_email")
    assert (
        timedelta(hours=23, minutes=59)
        < change.cooling_until - timezone.now()
        <= timedelta(hours=24)
    )
    overview = client.get("/ssprsetup/").content.decode()
    assert "New: until" in overview
    # Rita still has her phone from before: she can reset, and the page says so.
    assert "Your methods are new" not in overview


def _cools_off_said(client, path) -> str | None:
    page = client.get(path).content.decode()
    found = re.search(r'<p class="hint" id="cools-off">(.*?)</p>', page, re.S)
    return found.group(1) if found else None


def _proved(username="rita", next_url="/ssprsetup/email/") -> Client:
    client = Client()
    sign_in(client, username)
    prove_with_phone(client, NUMBER, next_url=next_url)
    return client


def test_the_setup_page_says_beforehand_that_a_change_cools_off(rita, make_user):
    """Before adding a method, the page says for how long it will not count on its own (the
    end is set when it is verified; the overview then gives the date); not on the questions'
    page (they do not count alone here), nor at a first registration (nothing cools)."""
    client = _proved()
    said = _cools_off_said(client, "/ssprsetup/email/")
    hours = Policy.load().cooling_off_hours
    assert said is not None and f"only {hours} hours after you add it" in said
    assert _cools_off_said(client, "/ssprsetup/questions/") is None
    # Every method that can make a reset on its own says it, an app or a key too.
    for other in ("/ssprsetup/phone/", "/ssprsetup/authenticator/", "/ssprsetup/passkey/"):
        assert _cools_off_said(client, other) is not None, other
    # Someone registering for the first time: nothing cools, nothing said.
    make_user("ken")
    first = Client()
    sign_in(first, "ken")
    assert _cools_off_said(first, "/ssprsetup/phone/") is None


def test_the_page_says_it_only_where_the_method_alone_would_reset(rita, policy):
    """Where one method never makes a reset on its own (a policy of two), nothing is promised
    of it; where security questions may stand alone, their page says it too."""
    policy.reset_methods_required = 2
    policy.save()
    client = _proved()
    assert _cools_off_said(client, "/ssprsetup/email/") is None
    policy.reset_methods_required = 1
    policy.questions_alone_allowed = True
    policy.set_option("questions", "enabled", True)
    policy.save()
    assert _cools_off_said(client, "/ssprsetup/questions/") is not None


def test_an_administrator_is_promised_nothing_a_phone_cannot_give(rita):
    """An administrator account never resets with a phone alone: no date is promised for it."""
    rita.is_staff = True
    rita.save()
    client = _proved()
    assert _cools_off_said(client, "/ssprsetup/phone/") is None


def test_it_cools_off_after_earlier_changes_too(make_user):
    """Rita registered her phone through the pages (a change on record, not cooling); what she
    adds in a later session still cools off, and alone it does not reset."""
    make_user("rita")
    first = Client()
    sign_in(first, "rita")
    register_phone(first, NUMBER)
    assert MethodChange.objects.filter(user__username="rita", cooling_until=None).exists()
    client = add_email_in_a_new_session()
    change = MethodChange.objects.get(user__username="rita", method="authentication_email")
    assert change.cooling_until is not None and change.cooling_until > timezone.now()
    assert "New: until" in client.get("/ssprsetup/").content.decode()
    reset = Client()
    reset_with_email(reset)
    assert reset.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"


def test_alone_it_does_not_reset_beside_an_older_method_it_does(rita):
    reset = Client()
    add_email_in_a_new_session()
    reset_with_email(reset)
    # The new email passed, but alone it is not enough: the older phone is offered.
    assert reset.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"
    listing = reset.get("/passwordreset/methods/").content.decode()
    assert "/passwordreset/phone/" in listing
    # It says why one more is needed, and until when (the account is known once one passed).
    until = MethodChange.objects.get(user=rita, method="authentication_email").cooling_until
    assert (
        "The method “Authentication email” was added or changed lately: for your protection, until "
        f"{date_format(timezone.localtime(until), 'DATETIME_FORMAT')} it counts only together "
        "with a method you had before, other than security questions."
    ) in listing
    reset.post("/passwordreset/phone/", {"number": NUMBER, "channel": "sms"})
    reset.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert reset.get("/passwordreset/finish/").status_code == 200


def test_older_security_questions_do_not_make_a_new_method_count(rita, policy, helpdesk_client):
    """Whoever added their own address with a stolen password may know or find the answers
    too: beside a method that cools off, only an older method other than the questions makes
    the reset. Every page says so: the portal, the person's page, the helpdesk's."""
    from methods.models import SecurityAnswer, SecurityQuestion
    from methods.questions.answers import hash_answer, normalise

    policy.set_option("questions", "enabled", True)
    policy.save()
    for question in SecurityQuestion.objects.filter(active=True)[:3]:
        SecurityAnswer.objects.create(
            user=rita, question=question, answer_hash=hash_answer(normalise("lisbon"))
        )
    client = add_email_in_a_new_session()
    AuthenticationPhone.objects.filter(user=rita).delete()  # the thief removed the phone too
    reset = Client()
    reset_with_email(reset)
    listing = reset.get("/passwordreset/methods/").content.decode()
    assert "/passwordreset/questions/" not in listing
    assert "You have no other registered method that can count" in listing
    # And from when the new address makes the reset on its own, as the overview says.
    until = MethodChange.objects.get(user=rita, method="authentication_email").cooling_until
    assert "you can reset your password yourself from" in listing
    assert date_format(timezone.localtime(until), "DATETIME_FORMAT") in listing
    assert reset.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"
    # Answered anyway (the page opened from history): still no reset.
    opened = reset.get("/passwordreset/questions/")
    assert opened.status_code == 302
    # The person's page and the helpdesk's say the same.
    assert "Your methods are new" in client.get("/ssprsetup/").content.decode()
    page = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    assert re.search(r"Can reset</dt><dd>No", page)


def test_after_the_cooling_off_it_counts_alone(rita):
    add_email_in_a_new_session()
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1), tick=False):
        reset = Client()
        reset_with_email(reset)
        assert reset.get("/passwordreset/finish/").status_code == 200


def test_a_first_registration_does_not_cool_off(make_user):
    make_user("rita")
    client = Client()
    sign_in(client, "rita")
    register_phone(client, NUMBER)
    register_email(client, NEW_ADDRESS)
    assert not MethodChange.objects.filter(cooling_until__isnull=False).exists()
    reset = Client()
    reset_with_email(reset)
    assert reset.get("/passwordreset/finish/").status_code == 200


def test_the_policy_can_turn_it_off(rita):
    policy = Policy.load()
    policy.cooling_off_hours = 0
    policy.save()
    add_email_in_a_new_session()
    assert not MethodChange.objects.filter(cooling_until__isnull=False).exists()


def test_a_replaced_only_method_means_no_reset_until_it_ends_and_every_page_says_so(
    rita, helpdesk_client
):
    """Someone with Rita's password and a code replaced her only phone: nobody can reset with
    the new one alone today, and neither her page nor the helpdesk says she can."""
    client = Client()
    sign_in(client, "rita")
    prove_with_phone(client, NUMBER)
    register_phone(client, "+447400999999")
    assert AuthenticationPhone.objects.get(user=rita).number == "+447400999999"
    overview = client.get("/ssprsetup/").content.decode()
    assert "Your methods are new" in overview
    assert "You are registered" not in overview

    reset = Client()
    start_reset(reset, "rita")
    reset.post("/passwordreset/phone/", {"number": "+447400999999", "channel": "sms"})
    reset.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert reset.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"

    page = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    assert re.search(r"Can reset</dt><dd>No", page)
    assert "Cooling off" in page
    cannot = helpdesk_client.get("/helpdesk/?can_reset=no").content.decode()
    can = helpdesk_client.get("/helpdesk/?can_reset=yes").content.decode()
    assert f"/helpdesk/users/{rita.pk}/" in cannot and f"/helpdesk/users/{rita.pk}/" not in can
    export = helpdesk_client.get("/helpdesk/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert [row["can_reset"] for row in rows if row["username"] == "rita"] == ["no"]


def test_the_helpdesk_checks_no_caller_with_a_method_still_cooling_off(rita, helpdesk_client):
    """Whoever replaced Rita's phone may be the one calling: the caller check does not offer
    the new phone (nor take it if sent), says why and until when, and offers the methods
    that count; so no caller check passed on it can ground a temporary access pass."""
    client = Client()
    sign_in(client, "rita")
    prove_with_phone(client, NUMBER)
    register_phone(client, "+447400999999")
    verify = f"/helpdesk/users/{rita.pk}/verify/"
    person = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    assert verify not in person  # nothing to check with today
    page = helpdesk_client.get(verify).content.decode()
    assert 'name="method"' not in page
    assert "None of this person's methods can be used for a check just now." in page
    assert re.search(r"Authentication phone: new, cooling off until \d", page)
    sent = helpdesk_client.post(verify, {"method": "phone"})
    assert sent.status_code == 200 and "Select a valid choice" in sent.content.decode()
    assert not Event.objects.filter(kind=EventKind.CODE_SENT, details__purpose="helpdesk").exists()
    # An older email beside it is offered, with the phone still named as left out.
    AuthenticationEmail.objects.create(
        user=rita, email="rita.home@example.net", verified_at=timezone.now() - timedelta(days=3)
    )
    page = helpdesk_client.get(verify).content.decode()
    assert 'value="email"' in page and 'value="phone"' not in page
    assert 'id="cooling-not-offered"' in page


def test_a_check_chosen_before_the_phone_was_replaced_checks_nobody(rita, helpdesk_client):
    """The agent sends a code to Rita's phone; before the caller reads it back, the phone is
    replaced (by whoever holds her password and a code) and the new one cools off. The page
    still open takes no code: it says the method was changed lately, and nothing counts as a
    check, so no pass can name one."""
    verify = f"/helpdesk/users/{rita.pk}/verify/"
    assert helpdesk_client.post(verify, {"method": "phone"})["Location"] == f"{verify}code/"
    code = last_phone_code()
    client = Client()
    sign_in(client, "rita")
    prove_with_phone(client, NUMBER)
    register_phone(client, "+447400999999")

    response = helpdesk_client.post(f"{verify}code/", {"code": code}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == verify
    assert "Authentication phone can no longer be used to check this caller." in page
    assert f"sspr_helpdesk_verified_{rita.pk}" not in helpdesk_client.session
    assert not Event.objects.filter(kind=EventKind.HELPDESK_CHECK).exists()
    issued = issue(helpdesk_client, rita, verification="caller_check", note="")
    assert issued.status_code == 200 and not PASS_PATTERN.search(issued.content.decode())


def test_a_check_that_counts_no_more_is_named_as_such(rita, helpdesk_client):
    """A check passed with Rita's phone a minute before it was replaced counts no more: the
    pass form says so, naming the method, not that no check passed."""
    verify = f"/helpdesk/users/{rita.pk}/verify/"
    helpdesk_client.post(verify, {"method": "phone"})
    helpdesk_client.post(f"{verify}code/", {"code": last_phone_code()})
    assert f"sspr_helpdesk_verified_{rita.pk}" in helpdesk_client.session
    client = Client()
    sign_in(client, "rita")
    prove_with_phone(client, NUMBER)
    register_phone(client, "+447400999999")
    page = issue(helpdesk_client, rita, verification="caller_check", note="x").content.decode()
    assert "The caller check passed with Authentication phone no longer counts" in page
    assert "No caller check passed for this person" not in page
    assert not PASS_PATTERN.search(page)


def test_a_check_passed_before_the_person_reported_its_method_lifts_no_pause(
    make_user, helpdesk_client
):
    """The agent checks the caller with Rita's phone, changed two days ago (cooled off). A
    minute later Rita reports that change as not hers: self-service pauses, and the phone
    checks nobody in the week after. The check passed a minute ago no longer counts either:
    not to turn self-service on again, nor for a pass."""
    from methods import not_me
    from methods.models import ChangeAction

    rita = make_user("rita")
    AuthenticationEmail.objects.create(
        user=rita, email="rita.home@example.net", verified_at=timezone.now() - timedelta(days=90)
    )
    AuthenticationPhone.objects.create(
        user=rita, number=NUMBER, verified_at=timezone.now() - timedelta(days=2)
    )
    change = MethodChange.objects.create(
        user=rita, method="authentication_phone", action=ChangeAction.REPLACED
    )
    MethodChange.objects.filter(pk=change.pk).update(created_at=timezone.now() - timedelta(days=2))
    verify = f"/helpdesk/users/{rita.pk}/verify/"
    assert helpdesk_client.post(verify, {"method": "phone"}).status_code == 302
    helpdesk_client.post(f"{verify}code/", {"code": last_phone_code()})
    passes = f"/helpdesk/pass/users/{rita.pk}/"
    said = "Caller check passed just now: Authentication phone"
    assert said in helpdesk_client.get(passes).content.decode()

    Client().post(f"/ssprsetup/not-me/{not_me.token_for(change)}/")
    assert SelfServiceBlock.objects.filter(user=rita).exists()
    assert said not in helpdesk_client.get(passes).content.decode()
    assert said not in helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    refused = helpdesk_client.post(
        f"/helpdesk/users/{rita.pk}/resume/", {"resume-verification": "caller_check"}
    )
    assert refused.status_code == 400
    assert SelfServiceBlock.objects.filter(user=rita).exists()
    issued = issue(helpdesk_client, rita, verification="caller_check", note="")
    assert not PASS_PATTERN.search(issued.content.decode())


def test_a_pass_session_does_not_cool_off(rita, make_user):
    agent = make_user("agent", password=None)
    agent.groups.add(helpdesk_group())
    desk = past_sign_in_check(Client(), agent)
    value = the_pass(issue(desk, rita))
    client = Client()
    assert use_pass(client, "rita", value).status_code == 302
    register_email(client, NEW_ADDRESS)
    assert AuthenticationEmail.objects.filter(user=rita).exists()
    assert not MethodChange.objects.filter(cooling_until__isnull=False).exists()


def test_the_portal_gives_the_overviews_date_from_every_method_held(rita):
    """The phone stops cooling off in 2 hours and a new email in 20: after the email passed,
    with nothing left to offer, the portal says the person can reset on their own from the
    earlier date, as their overview does (with the phone then)."""
    now = timezone.now()
    AuthenticationEmail.objects.create(user=rita, email=NEW_ADDRESS, verified_at=now)
    phone_ends, email_ends = now + timedelta(hours=2), now + timedelta(hours=20)
    MethodChange.objects.create(
        user=rita, method="authentication_phone", action="added", cooling_until=phone_ends
    )
    MethodChange.objects.create(
        user=rita, method="authentication_email", action="added", cooling_until=email_ends
    )
    reset = Client()
    reset_with_email(reset)
    with CaptureQueriesContext(connection) as queries:
        listing = reset.get("/passwordreset/methods/").content.decode()
    assert "You have no other registered method that can count" in listing
    # The person's methods are read once for the hints, the cooling sentence and the date.
    assert sum("methods_authenticationphone" in q["sql"] for q in queries.captured_queries) == 1
    assert date_format(timezone.localtime(phone_ends), "DATETIME_FORMAT") in listing
    assert date_format(timezone.localtime(email_ends), "DATETIME_FORMAT") not in listing
    overview = Client()
    sign_in(overview, "rita")
    page = overview.get("/ssprsetup/").content.decode()
    assert date_format(timezone.localtime(phone_ends), "DATETIME_FORMAT") in page


def test_removing_the_last_older_method_says_beforehand_until_when_no_reset(rita):
    """Rita's phone is from before and her new email cools off: the page that asks whether to
    remove the phone says that without it she can reset on her own only from the email's date;
    removing the email says nothing of the kind."""
    client = add_email_in_a_new_session()
    until = MethodChange.objects.get(user=rita, method="authentication_email").cooling_until
    page = client.get("/ssprsetup/phone/remove/").content.decode()
    warned = re.search(r'<p class="panel panel-warning" id="waits-from">(.*?)</p>', page, re.S)
    assert warned and date_format(timezone.localtime(until), "DATETIME_FORMAT") in warned[1]
    assert 'id="waits-from"' not in client.get("/ssprsetup/email/remove/").content.decode()


def thief_adds_keys(*names) -> tuple[Client, list[SoftKey]]:
    """Someone with Rita's password and one phished code adds passkeys of their own."""
    thief = Client()
    sign_in(thief, "rita")
    prove_with_phone(thief, NUMBER)
    keys = []
    for name in names:
        key = SoftKey()
        assert add_key(thief, key, name=name).status_code == 302
        keys.append(key)
    return thief, keys


def test_removing_one_passkey_of_several_leaves_the_others_cooling(rita):
    """A new key alone does not reset; removing another key (one more of the thief's, or
    Rita's own) does not end the new key's cooling-off, and its notice's link still undoes
    the addition."""
    thief, (key, _spare) = thief_adds_keys("Thief", "Spare")
    assert not shows_finish_page(reset_with(Client(), key))
    spare = Passkey.objects.get(name="Spare")
    assert thief.post(f"{PASSKEY_SETUP}{spare.pk}/remove/").status_code == 302
    assert Passkey.objects.filter(user=rita).count() == 1
    assert not shows_finish_page(reset_with(Client(), key))


def test_removing_the_last_passkey_ends_its_cooling_off(rita):
    thief, _keys = thief_adds_keys("Thief")
    only = Passkey.objects.get(user=rita)
    assert thief.post(f"{PASSKEY_SETUP}{only.pk}/remove/").status_code == 302
    assert not MethodChange.objects.filter(
        user=rita, method="passkey", cooling_until__isnull=False
    ).exists()


def owners_key_days_ago() -> SoftKey:
    """Rita's own passkey, added three days ago: long past its cooling-off."""
    own = SoftKey()
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        client = Client()
        sign_in(client, "rita")
        prove_with_phone(client, NUMBER)
        assert add_key(client, own, name="Own").status_code == 302
    return own


def test_removing_the_only_key_added_since_ends_the_cooling_of_the_owners_older_key(rita):
    """Rita's own key, added days before; the thief's key added today, cooling off. Once
    Rita removes the thief's key, her own key, which never cooled, resets alone again; had
    she removed her own, the thief's would still cool."""
    own = owners_key_days_ago()
    assert shows_finish_page(reset_with(Client(), own))
    _thief, (key,) = thief_adds_keys("Thief")
    assert not shows_finish_page(reset_with(Client(), own))  # the kind cools off now
    owner = Client()
    sign_in(owner, "rita")
    prove_with_phone(owner, NUMBER)
    thiefs = Passkey.objects.get(name="Thief")
    assert owner.post(f"{PASSKEY_SETUP}{thiefs.pk}/remove/").status_code == 302
    assert shows_finish_page(reset_with(Client(), own))
    assert not shows_finish_page(reset_with(Client(), key))  # gone


def test_removing_the_owners_older_key_leaves_the_new_one_cooling(rita):
    owners_key_days_ago()
    thief, (key,) = thief_adds_keys("Thief")
    owns = Passkey.objects.get(name="Own")
    assert thief.post(f"{PASSKEY_SETUP}{owns.pk}/remove/").status_code == 302
    assert not shows_finish_page(reset_with(Client(), key))


def test_a_method_cooling_off_proves_nothing_before_a_change_while_an_older_one_can(rita):
    """In a later session with the password alone, the thief's new passkey is not offered
    for the proof before a change, and sent anyway it is refused: the older phone is needed,
    so Rita's phone cannot be removed with the thief's key."""
    _thief, (key,) = thief_adds_keys("Thief")
    again = Client()
    sign_in(again, "rita")
    response = again.get("/passwordreset/prove/?next=/ssprsetup/phone/remove/")
    listing = again.get(response["Location"]).content.decode()
    assert 'action="/passwordreset/phone/"' in listing  # the phone's card asks for it
    assert "/passwordreset/passkey/" not in listing
    assert again.get("/passwordreset/passkey/")["Location"] == "/passwordreset/methods/"
    assert again.post("/passwordreset/passkey/", {"credential": "{}"}).status_code == 302
    assert again.post("/ssprsetup/phone/remove/")["Location"].startswith("/passwordreset/prove/")
    assert AuthenticationPhone.objects.filter(user=rita).exists()


def test_with_only_methods_cooling_off_those_prove(make_user):
    """Rita replaced her only phone: until it cools off it is the proof she has, not none."""
    rita = make_user("rita")
    first = Client()
    sign_in(first, "rita")
    register_phone(first, NUMBER)
    own = Client()
    sign_in(own, "rita")
    prove_with_phone(own, NUMBER)
    register_phone(own, "+447400999999")
    assert MethodChange.objects.filter(user=rita, cooling_until__isnull=False).exists()
    later = Client()
    sign_in(later, "rita")
    assert later.get("/ssprsetup/email/")["Location"].startswith("/passwordreset/prove/")
    prove_with_phone(later, "+447400999999")
    assert later.get("/ssprsetup/email/").status_code == 200


def rita_has_her_own_key(rita, settings) -> None:
    """Rita's own passkey, added long ago, and an address for her notices (with links)."""
    settings.SSPR_SITE_URL = "http://testserver"
    AuthenticationEmail.objects.create(
        user=rita, email="rita@example.net", verified_at=timezone.now()
    )
    own = Client()
    sign_in(own, "rita")
    prove_with_phone(own, NUMBER)
    assert add_key(own, SoftKey(), name="Rita's").status_code == 302
    MethodChange.objects.update(cooling_until=None)  # added long ago
    mail.outbox.clear()


def test_after_a_later_change_the_new_keys_link_pauses_and_removes_nothing(rita, settings):
    """The thief adds a key and removes Rita's older one; Rita (or the thief) may have changed
    the method since, so the addition's "That wasn't me" link removes no key, which could be
    hers: it pauses self-service, and the helpdesk puts the keys right."""
    rita_has_her_own_key(rita, settings)
    thief, _keys = thief_adds_keys("Thief")
    notice = next(m for m in mail.outbox if "Passkey or security key: another key added" in m.body)
    link = "/ssprsetup/" + re.search(r"/ssprsetup/(not-me/[^/\s]+/)", notice.body).group(1)
    older = Passkey.objects.get(name="Rita's")
    assert thief.post(f"{PASSKEY_SETUP}{older.pk}/remove/").status_code == 302
    Client().post(link)
    assert Passkey.objects.filter(user=rita, name="Thief").exists()
    assert SelfServiceBlock.objects.filter(user=rita).exists()


def test_another_keys_link_pauses_and_removes_none_of_the_persons_keys(rita, settings):
    """The thief adds a key beside Rita's own: its "That wasn't me" link cannot undo just that
    key (removing the method would take hers too), so the page promises no undo, and the
    report pauses self-service and leaves every key for the helpdesk to put right."""
    rita_has_her_own_key(rita, settings)
    thief_adds_keys("Thief")
    notice = next(m for m in mail.outbox if "another key added (Thief)" in m.body)
    assert "undo the change where we can" in notice.body
    link = "/ssprsetup/" + re.search(r"/ssprsetup/(not-me/[^/\s]+/)", notice.body).group(1)
    asked = Client().get(link).content.decode()
    assert "This change cannot be undone here" in asked and "We will undo it" not in asked
    Client().post(link)
    assert sorted(Passkey.objects.filter(user=rita).values_list("name", flat=True)) == [
        "Rita's",
        "Thief",
    ]
    assert SelfServiceBlock.objects.filter(user=rita).exists()


def test_after_questions_a_phone_cooling_off_is_not_offered_in_vain(rita):
    """Rita's phone was replaced today; her questions are older. Once the questions passed,
    the phone could not make them count (questions vouch for no new method): the portal does
    not offer it, and says from when she can reset."""
    from tests.passwordreset.test_portal import answer_form, give_answers

    answers = give_answers(rita)
    ends = timezone.now() + timedelta(hours=20)
    MethodChange.objects.create(
        user=rita, method="authentication_phone", action="replaced", cooling_until=ends
    )
    reset = Client()
    start_reset(reset, "rita")
    _asked, right = answer_form(reset, answers)
    assert reset.post("/passwordreset/questions/", right)["Location"] == "/passwordreset/methods/"
    listing = reset.get("/passwordreset/methods/").content.decode()
    assert 'action="/passwordreset/phone/"' not in listing
    assert "You have no other registered method that can count" in listing
    # With an older email beside it, the phone is offered again: the email can vouch for it.
    AuthenticationEmail.objects.create(
        user=rita, email="rita@example.net", verified_at=timezone.now() - timedelta(days=30)
    )
    listing = reset.get("/passwordreset/methods/").content.decode()
    assert (
        'action="/passwordreset/phone/"' in listing and 'action="/passwordreset/email/"' in listing
    )


def test_removing_the_last_method_and_signing_in_again_is_no_first_registration(rita):
    """Someone with Rita's password and one phished code removes her only phone and signs in
    again: an address of theirs added then cools off, as it would beside her phone."""
    thief = Client()
    sign_in(thief, "rita")
    prove_with_phone(thief, NUMBER)
    assert thief.post("/ssprsetup/phone/remove/").status_code == 302
    assert not AuthenticationPhone.objects.filter(user=rita).exists()
    again = Client()
    sign_in(again, "rita")
    register_email(again, "thief@example.net")
    assert MethodChange.objects.filter(
        user=rita, method="authentication_email", cooling_until__isnull=False
    ).exists()
    assert not shows_finish_page(reset_with_email(Client(), "thief@example.net"))


def test_the_same_number_proved_again_is_no_change(rita):
    """Rita types her own long-verified number again on the phone's page and proves it: she
    is told nothing changed; nothing cools off, no notice goes out with a link that would
    remove it, and she can still reset with it alone."""
    from registration.flows import registration_status

    client = Client()
    sign_in(client, "rita")
    prove_with_phone(client, NUMBER)
    sent = len(mail.outbox)
    register_phone(client, NUMBER)
    page = client.get("/ssprsetup/").content.decode()
    assert "confirmed again. It was already verified, so nothing changed." in page
    assert not MethodChange.objects.filter(user=rita).exists()
    assert len(mail.outbox) == sent
    assert registration_status(user=rita).can_reset
    assert AuthenticationPhone.objects.get(user=rita).verified_at is not None


def test_registering_with_methods_still_cooling_says_from_when_one_can_reset(rita, policy):
    """Two methods required; Rita, who had a phone, changes its number and adds an address:
    she is registered, and told from when she can reset on her own, not that she can now."""
    from registration.flows import registration_status

    policy.methods_required = 2
    policy.save()
    client = Client()
    sign_in(client, "rita")
    prove_with_phone(client, NUMBER)
    register_phone(client, "+447400999888")
    register_email(client, NEW_ADDRESS)
    page = client.get("/ssprsetup/").content.decode()
    status = registration_status(user=rita)
    assert status.is_complete and not status.can_reset
    assert "you can reset your password yourself from" in page
    assert "and you can reset your password yourself. Add more" not in page
    finished = client.post("/ssprsetup/finish/", follow=True).content.decode()
    assert "you can now reset or unlock it yourself" not in finished


def test_proving_the_same_number_again_still_completes_a_registration(rita, policy):
    """One method required; Rita's phone was verified before she ever registered here: proved
    again, it changes nothing, and her registration is recorded as complete."""
    from registration.models import Registration

    policy.methods_required = 1
    policy.save()
    client = Client()
    sign_in(client, "rita")
    prove_with_phone(client, NUMBER)
    register_phone(client, NUMBER)
    assert Registration.objects.get(user=rita).completed_at is not None
    assert not MethodChange.objects.filter(user=rita).exists()
