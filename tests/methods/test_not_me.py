"""The "That wasn't me" link of every change notice (docs/security.md rule 68,
methods/not_me.py): a GET only asks, a POST undoes the change, ends every session of the
account and pauses self-service until the helpdesk turns it on again; once, for seven days."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Event, EventKind
from methods.models import (
    AuthenticationEmail,
    AuthenticationPhone,
    BlockReason,
    MethodChange,
    SelfServiceBlock,
)
from registration.models import Registration
from tests.support.people import past_sign_in_check, sign_in
from tests.support.registering import prove_with_phone, register_email, register_phone
from tests.support.resets import start_reset

pytestmark = pytest.mark.django_db

IN_PERSON = {"resume-verification": "in_person"}
LINK = re.compile(r"http://\S+/ssprsetup/not-me/[^/\s]+/")


def path_of(url: str) -> str:
    return "/ssprsetup/" + url.split("/ssprsetup/", 1)[1]


@pytest.fixture
def phished(make_user, settings):
    """Rita registered her phone; a thief who phished her password (and a code, through a
    phishing proxy) added their own email. Rita is signed in elsewhere too."""
    settings.SSPR_SITE_URL = "http://testserver"
    rita = make_user("rita")
    own = Client()
    sign_in(own, "rita")
    register_phone(own)
    thief = Client()
    sign_in(thief, "rita")
    prove_with_phone(thief)
    mail.outbox.clear()
    register_email(thief, "thief@evil.example")
    notice = next(m for m in mail.outbox if "Authentication email: added" in m.body)
    link = path_of(LINK.search(notice.body).group(0))
    return rita, own, thief, link


def test_the_notice_links_to_a_page_that_only_asks(phished):
    rita, _own, thief, link = phished
    assert "/ssprsetup/not-me/" in link
    # No number, address or code in the link: it only names the change.
    assert "evil" not in link and "7400" not in link
    page = Client().get(link)  # a mail scanner, or the person reading
    text = page.content.decode()
    assert page.status_code == 200
    assert "Was this change not yours?" in text
    assert "Authentication email" in text
    assert AuthenticationEmail.objects.filter(user=rita).exists()
    assert not SelfServiceBlock.objects.exists()
    assert not Event.objects.filter(kind=EventKind.CHANGE_REPORTED).exists()
    assert thief.get("/ssprsetup/").status_code == 200  # still signed in: nothing happened


def test_confirming_undoes_the_change_ends_every_session_and_pauses(phished):
    rita, own, thief, link = phished
    reader = Client()
    reader.get(link)
    done = reader.post(link)
    text = done.content.decode()
    assert done.status_code == 200
    assert "Your account is protected" in text
    assert "Authentication email was removed" in text
    assert not AuthenticationEmail.objects.filter(user=rita).exists()
    assert AuthenticationPhone.objects.filter(user=rita).exists()  # Rita's own, kept
    assert SelfServiceBlock.objects.get(user=rita).change.method == "authentication_email"
    for client in (own, thief):
        assert client.get("/ssprsetup/")["Location"].startswith("/ssprsetup/signin/")
    (event,) = Event.objects.filter(kind=EventKind.CHANGE_REPORTED, subject=rita)
    assert event.details["reverted"] is True and event.details["sessions_ended"] == 2
    # The removed email no longer shows as a new method cooling off.
    assert not MethodChange.objects.filter(user=rita, cooling_until__isnull=False).exists()
    # With one method left of the two the policy asks for, Rita is not registered any more.
    assert Registration.objects.get(user=rita).completed_at is None
    assert Event.objects.filter(kind=EventKind.REGISTRATION_LAPSED, subject=rita).exists()


def test_the_link_works_once(phished):
    """Opened or confirmed again (another tab, a second press), it acts no more, and says the
    change was reported and the account protected, not that the link failed."""
    _rita, _own, _thief, link = phished
    Client().post(link)
    for attempt in (Client().get(link), Client().post(link)):
        assert attempt.status_code == 200
        page = attempt.content.decode()
        assert "This change was reported already" in page and "The account was protected" in page
        assert "This link no longer works" not in page
        assert "This was not me: protect my account" not in page  # nothing more to confirm
    assert Event.objects.filter(kind=EventKind.CHANGE_REPORTED).count() == 1


def test_the_link_ends_after_seven_days_and_cannot_be_altered(phished):
    rita, _own, _thief, link = phished
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1), tick=False):
        assert Client().post(link).status_code == 410
    token = link.rstrip("/").rsplit("/", 1)[1]
    altered = link.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert Client().post(altered).status_code == 410
    assert AuthenticationEmail.objects.filter(user=rita).exists()
    assert not SelfServiceBlock.objects.exists()


def test_while_paused_nothing_changes_and_no_page_says_the_person_can_reset(phished):
    rita, _own, _thief, link = phished
    Client().post(link)
    client = Client()
    sign_in(client, "rita")
    overview = client.get("/ssprsetup/").content.decode()
    assert "Self-service is paused for your account" in overview
    assert "You are registered" not in overview
    for path in ("/ssprsetup/email/", "/ssprsetup/phone/remove/"):
        assert client.get(path).status_code == 403
    refused = client.post("/ssprsetup/email/", {"email": "rita.new@example.net"})
    assert refused.status_code == 403
    assert "Nothing was changed" in refused.content.decode()
    assert client.post("/ssprsetup/phone/remove/").status_code == 403
    assert AuthenticationPhone.objects.filter(user=rita).exists()
    assert not AuthenticationEmail.objects.filter(user=rita).exists()


def test_while_paused_the_overview_offers_no_change(phished):
    """The pause is said once at the top, and no card offers a change the pause refuses."""
    rita, own, _thief, link = phished
    Client().post(link)
    sign_in(own, "rita")
    page = own.get("/ssprsetup/").content.decode()
    assert "Self-service is paused for your account" in page
    assert 'class="actions"' not in page
    for words in (">Change<span", ">Set up<span", ">Remove<span"):
        assert words not in page


def test_a_pause_holds_from_the_next_request_read_with_the_person(make_user):
    """The pause is read with the signed-in person (methods/apps.py), not by a query of its
    own: a pause made while the person is signed in holds from their next POST."""
    rita = make_user("rita")
    client = Client()
    sign_in(client, "rita")
    with CaptureQueriesContext(connection) as queries:
        sent = client.post("/ssprsetup/email/", {"email": "rita.new@example.net"})
    assert sent.status_code == 200 and b'name="code"' in sent.content
    assert not [q for q in queries if q["sql"].startswith('SELECT "methods_selfserviceblock"')]
    SelfServiceBlock.objects.create(user=rita, reason=BlockReason.NOT_ME)
    refused = client.post("/ssprsetup/email/", {"email": "rita.other@example.net"})
    assert refused.status_code == 403
    assert "Nothing was changed" in refused.content.decode()
    SelfServiceBlock.objects.filter(user=rita).delete()
    assert client.post("/ssprsetup/email/", {"email": "rita.other@example.net"}).status_code == 200


def test_while_paused_the_reset_portal_lets_no_method_pass(phished, phone_outbox):
    rita, _own, _thief, link = phished
    Client().post(link)
    reset = Client()
    start_reset(reset, "rita")
    before = len(phone_outbox)
    reset.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    # No code goes out for a paused account, so nothing typed can pass.
    assert len(phone_outbox) == before
    reset.post("/passwordreset/phone/code/", {"code": "123456"})
    assert reset.get("/passwordreset/finish/")["Location"] == "/passwordreset/methods/"
    assert rita.check_password("correct-horse-battery-staple")


def test_the_helpdesk_sees_it_first_and_turns_self_service_on_again(phished, helpdesk_client):
    rita, _own, _thief, link = phished
    Client().post(link)
    listing = helpdesk_client.get("/helpdesk/").content.decode()
    assert "Self-service paused" in listing
    assert listing.index("Self-service paused") < listing.index("<table")
    page = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    assert "Self-service is paused" in page
    assert "reported a change to their methods as not theirs" in page
    assert re.search(r"Can reset</dt><dd>No", page)
    # A pass would sign her in but not let her register: the issue page says so.
    issue_page = helpdesk_client.get(f"/helpdesk/pass/users/{rita.pk}/").content.decode()
    assert "Self-service is paused for this person" in issue_page
    # Not without saying how the person was verified: the reason next to the field.
    refused = helpdesk_client.post(f"/helpdesk/users/{rita.pk}/resume/", {})
    assert refused.status_code == 400 and SelfServiceBlock.objects.exists()
    assert "Choose how you verified the person." in refused.content.decode()
    refused = helpdesk_client.post(
        f"/helpdesk/users/{rita.pk}/resume/",
        {"resume-verification": "caller_check"},
    )
    assert refused.status_code == 400 and SelfServiceBlock.objects.exists()
    assert "No caller check passed for this person in your session" in refused.content.decode()
    cleared = helpdesk_client.post(f"/helpdesk/users/{rita.pk}/resume/", IN_PERSON)
    assert cleared.status_code == 302
    assert not SelfServiceBlock.objects.exists()
    event = Event.objects.get(kind=EventKind.SELF_SERVICE_CLEARED, subject=rita)
    assert event.details == {"verification": "in_person"}  # no free text in the audit
    again = helpdesk_client.post(f"/helpdesk/users/{rita.pk}/resume/", IN_PERSON, follow=True)
    assert "Self-service was not paused for rita; nothing was changed." in again.content.decode()
    assert Event.objects.filter(kind=EventKind.SELF_SERVICE_CLEARED, subject=rita).count() == 1
    client = Client()
    sign_in(client, "rita")
    assert "Self-service is paused" not in client.get("/ssprsetup/").content.decode()
    issue_page = helpdesk_client.get(f"/helpdesk/pass/users/{rita.pk}/").content.decode()
    assert "Self-service is paused for this person" not in issue_page


def test_an_old_link_does_not_undo_a_later_change(phished):
    """Rita changes the method again herself: the thief's earlier change's link then pauses
    self-service but removes nothing of what she set since."""
    rita, own, _thief, link = phished
    assert "We will undo it" in Client().get(link).content.decode()
    sign_in(own, "rita")
    prove_with_phone(own)
    register_email(own, "rita.home@example.net")
    asked = Client().get(link).content.decode()
    assert "This change cannot be undone here" in asked and "We will undo it" not in asked
    done = Client().post(link).content.decode()
    assert "Authentication email was changed again since, so the change is not undone" in done
    assert AuthenticationEmail.objects.get(user=rita).email == "rita.home@example.net"
    assert SelfServiceBlock.objects.filter(user=rita).exists()


def test_a_removal_notice_carries_the_link_too(make_user, settings):
    settings.SSPR_SITE_URL = "http://testserver"
    rita = make_user("rita")
    client = Client()
    sign_in(client, "rita")
    register_phone(client)
    register_email(client, "rita.home@example.net")
    mail.outbox.clear()
    client.post("/ssprsetup/email/remove/")
    notice = next(m for m in mail.outbox if "Authentication email: removed" in m.body)
    link = path_of(LINK.search(notice.body).group(0))
    # The page that asks promises no undo of a removal.
    asked = Client().get(link).content.decode()
    assert "This change cannot be undone here" in asked and "We will undo it" not in asked
    done = Client().post(link)
    assert (
        "Authentication email was removed, which is not undone here: set it up again once your "
        "helpdesk has checked your account." in done.content.decode()
    )
    assert SelfServiceBlock.objects.filter(user=rita).exists()
    assert not AuthenticationEmail.objects.filter(user=rita).exists()  # nothing made up


def test_two_confirmations_at_once_act_once(phished):
    rita, _own, _thief, link = phished
    first, second = Client(), Client()
    first.get(link)
    second.get(link)
    assert "Your account is protected" in first.post(link).content.decode()
    assert "This change was reported already" in second.post(link).content.decode()
    assert Event.objects.filter(kind=EventKind.CHANGE_REPORTED, subject=rita).count() == 1


def _phone_and_thief(make_user, settings):
    """Rita registered her phone; a thief signed in with her password proved with it (a code
    phished through a proxy). Rita, and the thief's browser."""
    settings.SSPR_SITE_URL = "http://testserver"
    rita = make_user("rita")
    own = Client()
    sign_in(own, "rita")
    register_phone(own, "+447400123456")
    thief = Client()
    sign_in(thief, "rita")
    prove_with_phone(thief, "+447400123456")
    return rita, thief


def test_a_replaced_phone_comes_back(make_user, settings):
    """The thief replaced Rita's phone with theirs: confirming puts hers back, verified, and
    removes theirs; the replaced number was kept only sealed."""
    rita, thief = _phone_and_thief(make_user, settings)
    mail.outbox.clear()
    register_phone(thief, "+447400999999")
    change = MethodChange.objects.get(user=rita, action="replaced")
    assert change.previous and "7400123456" not in change.previous
    notice = next(m for m in mail.outbox if "Authentication phone: changed" in m.body)
    done = Client().post(path_of(LINK.search(notice.body).group(0)))
    assert "your earlier Authentication phone is back" in done.content.decode()
    phone = AuthenticationPhone.objects.get(user=rita)
    assert str(phone.number) == "+447400123456" and phone.verified_at
    assert MethodChange.objects.get(pk=change.pk).previous == ""


def test_changes_past_their_link_and_cooling_are_dropped_at_the_next_change(make_user):
    """What a change keeps (the earlier number, sealed) lasts no longer than its link, or its
    cooling-off if that is longer: the next change drops it, and a pause it led to stays."""
    from methods.models import BlockReason
    from methods.not_me import record_change
    from methods.registry import REGISTRY

    rita, sam = make_user("rita"), make_user("sam")
    phone, email = REGISTRY["phone"], REGISTRY["email"]
    now = timezone.now()
    made = {
        name: record_change(user=who, method=method, action="added", previous="+447400111222")
        for name, who, method in (
            ("old", rita, phone),
            ("cooling", rita, email),
            ("recent", rita, phone),
            ("sam's", sam, phone),
        )
    }
    for name, days_ago, cooling_days in (
        ("old", 8, None),
        ("cooling", 9, 1),
        ("recent", 6, None),
        ("sam's", 30, None),
    ):
        MethodChange.objects.filter(pk=made[name].pk).update(
            created_at=now - timedelta(days=days_ago),
            cooling_until=now + timedelta(days=cooling_days) if cooling_days else None,
        )
    SelfServiceBlock.objects.create(user=rita, reason=BlockReason.NOT_ME, change=made["old"])
    newest = record_change(user=rita, method=REGISTRY["questions"], action="added")
    assert set(MethodChange.objects.filter(user=rita).values_list("pk", flat=True)) == {
        made["cooling"].pk,
        made["recent"].pk,
        newest.pk,
    }
    assert SelfServiceBlock.objects.get(user=rita).change is None  # the pause stays
    assert MethodChange.objects.filter(pk=made["sam's"].pk).exists()  # another person's


def test_the_report_is_the_persons_whoever_is_signed_in_there(phished, make_user):
    """The link opened in a browser where someone else is signed in: the history says the
    person reported it, not the colleague whose session it was."""
    rita, _own, _thief, link = phished
    make_user("bob")
    colleague = Client()
    sign_in(colleague, "bob")
    colleague.post(link)
    event = Event.objects.get(kind=EventKind.CHANGE_REPORTED, subject=rita)
    assert event.actor == rita


def test_a_caller_check_passed_just_now_grounds_turning_it_on_again(phished, helpdesk_client):
    import time
    from datetime import timedelta

    from django.utils import timezone

    from helpdesk.views import VERIFIED_KEY
    from methods.models import MethodChange

    rita, _own, _thief, link = phished
    # Her phone was registered a month ago: outside the week before the pause, it checks a
    # caller (a method changed in that week would not, nor would a check passed with it).
    MethodChange.objects.filter(user=rita, method="authentication_phone").update(
        created_at=timezone.now() - timedelta(days=30)
    )
    Client().post(link)
    session = helpdesk_client.session
    session[VERIFIED_KEY.format(rita.pk)] = {
        "method": "authentication_phone",
        "at": int(time.time()),
    }
    session.save()
    page = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/").content.decode()
    assert "Caller check passed just now: Authentication phone" in page
    helpdesk_client.post(
        f"/helpdesk/users/{rita.pk}/resume/",
        {"resume-verification": "caller_check"},
    )
    assert not SelfServiceBlock.objects.exists()
    event = Event.objects.get(kind=EventKind.SELF_SERVICE_CLEARED, subject=rita)
    assert event.details["method"] == "authentication_phone"


def test_an_agent_cannot_turn_their_own_self_service_on_again(make_user):
    """As for a pass, never for oneself: whoever has an agent's password could otherwise undo
    the agent's own "That wasn't me"."""
    from methods.models import BlockReason
    from tests.support.access_passes import helpdesk_group

    agent = make_user("agent2")
    agent.groups.add(helpdesk_group())
    SelfServiceBlock.objects.create(user=agent, reason=BlockReason.NOT_ME)
    desk = past_sign_in_check(Client(), agent)
    page = desk.get(f"/helpdesk/users/{agent.pk}/").content.decode()
    assert "Ask a colleague" in page and f"/helpdesk/users/{agent.pk}/resume/" not in page
    refused = desk.post(f"/helpdesk/users/{agent.pk}/resume/", IN_PERSON)
    assert refused.status_code == 403 and SelfServiceBlock.objects.filter(user=agent).exists()
    blocked = desk.post(
        f"/helpdesk/users/{agent.pk}/reset-block/", {"block-verification": "in_person"}
    )
    assert blocked.status_code == 403


def test_a_refused_form_leads_the_language_picker_back_to_the_persons_page(
    phished, helpdesk_client
):
    rita, _own, _thief, link = phished
    Client().post(link)
    refused = helpdesk_client.post(f"/helpdesk/users/{rita.pk}/resume/", {})
    next_field = f'name="next" type="hidden" value="/helpdesk/users/{rita.pk}/"'
    assert next_field in refused.content.decode()


def test_while_paused_no_method_changed_that_week_checks_a_caller(phished, helpdesk_client):
    """The thief added an email and then replaced Rita's phone; she reports the email: paused.
    Even once the thief's phone has cooled off, the helpdesk cannot check a caller with it."""
    from datetime import timedelta

    rita, _own, thief, link = phished
    register_phone(thief, "+447400999111")
    Client().post(link)
    MethodChange.objects.update(cooling_until=timezone.now() - timedelta(minutes=1))
    page = helpdesk_client.get(f"/helpdesk/users/{rita.pk}/verify/").content.decode()
    assert 'value="phone"' not in page
    assert "None of this person's methods" in page


def test_after_two_replacements_the_thiefs_first_number_does_not_come_back(make_user, settings):
    """The thief, in one sitting, replaced Rita's phone with one number and then another:
    confirming the second change's link removes the phone and puts back nothing. Before, it
    put back the thief's first number, verified, as "your earlier phone", and the thief reset
    the password with it once the helpdesk had turned self-service on again."""
    rita, thief = _phone_and_thief(make_user, settings)
    register_phone(thief, "+447400999999")
    mail.outbox.clear()
    register_phone(thief, "+447400888888")
    notice = next(m for m in mail.outbox if "Authentication phone: changed" in m.body)
    done = Client().post(path_of(LINK.search(notice.body).group(0))).content.decode()
    assert "The change was undone: the new Authentication phone was removed." in done
    assert "The one before it is not put back here" in done and "is back" not in done
    assert not AuthenticationPhone.objects.filter(user=rita).exists()
    assert SelfServiceBlock.objects.filter(user=rita).exists()
