"""What the registration pages say counts is what the reset portal then allows: an
administrator account (is_staff) and an ordinary one go through the same registrations, and at
every point the setup pages, the overview, Finish and the sign-in interrupt agree with the
portal and with the helpdesk's "can reset" (the one rule, methods.reset_rule;
docs/security.md §14)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from audit.models import Event, EventKind
from registration.models import Registration
from registration.queries import with_methods
from tests.support.codes import last_email_code, last_phone_code
from tests.support.people import sign_in
from tests.support.registering import questions_data, register_email, register_phone
from tests.support.resets import shows_finish_page, start_reset, without_tokens

pytestmark = pytest.mark.django_db

ANSWERS = ["blue whale", "lisbon harbour", "mrs okafor"]


@pytest.fixture(autouse=True)
def _quick_captcha(settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000


def person(make_user, username: str, staff: bool) -> Client:
    make_user(username, staff=staff)
    client = Client()
    assert sign_in(client, username).status_code == 302
    return client


def text(response) -> str:
    """The page's words, without markup or repeated spaces."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", body)


def can_reset_in_sql(username: str, policy) -> bool:
    users = get_user_model().objects.filter(username=username)
    return with_methods(users, policy).get().sspr_can_reset


def portal_after_email(username: str, address: str) -> Client:
    """A reset attempt that has passed the email: what the person meets next."""
    client = Client()
    start_reset(client, username)
    mail.outbox.clear()
    client.post("/passwordreset/email/", {"email": address})
    checked = client.post("/passwordreset/email/code/", {"code": last_email_code()})
    # Passed: on to the new password's page, or to the methods page when one more is needed.
    assert shows_finish_page(checked) or checked["Location"] == "/passwordreset/methods/"
    return client


def registered(username: str) -> bool:
    return Registration.objects.filter(user__username=username, completed_at__isnull=False).exists()


@pytest.mark.parametrize("staff", [False, True], ids=["ordinary", "administrator"])
def test_email_and_questions_are_said_to_count_exactly_when_the_portal_lets_them(
    make_user, policy, staff
):
    name, address = ("ken" if staff else "olga"), "home@example.net"
    client = person(make_user, name, staff)

    register_email(client, address)
    questions_page = text(client.get("/ssprsetup/questions/"))
    if staff:
        assert "this one does not count" in questions_page
        assert "never count for an administrator account" in questions_page
        assert "this one counts" not in questions_page
        # Not told they count beside another method: for this account they never do.
        assert "count only together with another method" not in questions_page
    else:
        assert "needs 1 more verified method from you, and this one counts" in questions_page

    saved = client.post("/ssprsetup/questions/", questions_data(3, ANSWERS), follow=True)
    overview = text(saved)
    finish = text(client.post("/ssprsetup/finish/", follow=True))

    # What the pages say, against what the portal allows with email + questions.
    portal = portal_after_email(name, address)
    methods_page = portal.get("/passwordreset/methods/")
    portal_allows = methods_page.status_code == 302
    assert portal_allows == (not staff)
    assert can_reset_in_sql(name, policy) == portal_allows
    assert registered(name) == portal_allows
    says_covered = [
        "and you can reset your password yourself." in overview,  # the message on saving
        "You are registered Confirmed on" in overview,  # the panel
        "Your registration is complete" in finish,
    ]
    assert says_covered == [portal_allows] * 3, (overview, finish)
    if staff:
        assert "1 of 2 required methods verified" in overview
        assert "Your security questions do not count" in overview
        assert "They never count for a password reset of an administrator account" in overview
        assert "count only together with another method" not in overview
        assert "Set up and verify the methods your organisation requires" in finish
        # The portal, once the email passed, offers only what can count for this account,
        # says why, and says how many more.
        page = text(methods_page)
        assert "One more method is needed" in page
        assert "Security questions do not count for an administrator account" in page
        assert "/passwordreset/questions/" not in methods_page.content.decode()
        # Opened anyway (a bookmark, history): back to where the attempt stands, told why.
        opened = portal.get("/passwordreset/questions/", follow=True)
        assert opened.redirect_chain == [("/passwordreset/methods/", 302)]
        assert "That method cannot be used for this reset." in text(opened)
        # Nor a method ken never registered: nothing is left, and the page says who can help.
        assert "/passwordreset/phone/" not in methods_page.content.decode()
        assert "You have no other registered method that can count" in page
        # Nothing cools off here: no date is promised.
        assert "you can reset your password yourself from" not in page
    else:
        assert "For a password reset they count only together with another method" in overview


def test_an_administrator_is_registered_once_two_other_methods_count(make_user, policy):
    client = person(make_user, "ken", True)
    register_email(client, "ken.home@example.net")
    assert client.post("/ssprsetup/questions/", questions_data(3, ANSWERS)).status_code == 302
    phone_page = text(client.get("/ssprsetup/phone/"))
    assert "needs 1 more verified method from you, and this one counts" in phone_page
    register_phone(client)
    assert registered("ken") and can_reset_in_sql("ken", policy)
    event = Event.objects.get(kind=EventKind.REGISTRATION_COMPLETED)
    # The event names the methods that count for the account: not the questions.
    assert event.details["methods"] == ["authentication_email", "authentication_phone"]
    overview = text(client.get("/ssprsetup/"))
    assert "You are registered Confirmed on" in overview
    assert "The 2 methods your organisation requires are verified" in overview
    # The portal agrees: email, then the phone (questions never offered), then finish.
    portal = portal_after_email("ken", "ken.home@example.net")
    portal.post("/passwordreset/phone/", {"number": "+447400123456", "channel": "sms"})
    portal.post("/passwordreset/phone/code/", {"code": last_phone_code()})
    assert portal.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"


def test_the_policys_one_method_is_not_promised_to_an_administrator(make_user, policy):
    policy.methods_required = 1
    policy.save()
    ordinary, staff = person(make_user, "olga", False), person(make_user, "ken", True)
    register_email(ordinary, "olga.home@example.net")
    register_email(staff, "ken.home@example.net")
    assert registered("olga") and not registered("ken")
    assert "2 required methods" not in text(ordinary.get("/ssprsetup/"))
    overview = text(staff.get("/ssprsetup/"))
    assert "1 of 2 required methods verified" in overview
    assert "Your account is an administrator account" in overview


def test_questions_alone_never_register_an_ordinary_account_the_portal_would_refuse(
    make_user, policy
):
    policy.methods_required = 1
    policy.save()
    client = person(make_user, "olga", False)
    page = text(client.get("/ssprsetup/questions/"))
    assert "Security questions count only together with another method" in page
    assert "this one counts" not in page
    overview = text(client.post("/ssprsetup/questions/", questions_data(3, ANSWERS), follow=True))
    assert not registered("olga") and not can_reset_in_sql("olga", policy)
    assert "0 of 1 required method verified" in overview
    assert "Your security questions do not count yet" in overview
    # With the policy letting them stand alone, they count, and the person is registered
    # (at Finish: the policy changed, not a method of theirs).
    policy.questions_alone_allowed = True
    policy.save()
    assert can_reset_in_sql("olga", policy)
    assert "Press Finish to record your registration" in text(client.get("/ssprsetup/"))
    assert "Your registration is complete" in text(client.post("/ssprsetup/finish/", follow=True))
    assert registered("olga")


def test_the_sign_in_interrupt_follows_the_rule(make_user, policy):
    policy.methods_required = 1
    policy.require_registration_at_sign_in = True
    policy.save()
    for name, staff in (("olga", False), ("ken", True)):
        client = person(make_user, name, staff)
        register_email(client, f"{name}.home@example.net")
        assert client.post("/ssprsetup/questions/", questions_data(3, ANSWERS)).status_code == 302
        again = Client()
        sign_in(again, name)
        interrupted = again.get("/admin/").get("Location") == "/ssprsetup/"
        assert interrupted == (not can_reset_in_sql(name, policy)) == staff, name


def test_the_portal_offers_the_same_methods_to_every_account_before_a_first_pass(make_user, policy):
    for name, staff in (("olga", False), ("ken", True)):
        make_user(name, staff=staff)
    pages = []
    for name in ("olga", "ken", "nobody"):
        client = Client()
        start_reset(client, name)
        page = client.get("/passwordreset/methods/")
        pages.append(without_tokens(page.content.decode()))
        assert client.get("/passwordreset/questions/").status_code == 200
    assert pages[0] == pages[1] == pages[2]
    assert "/passwordreset/questions/" in pages[0]
    assert "dministrator" not in pages[0]


def test_changing_a_method_already_held_is_not_said_to_count(make_user, policy):
    """With the phone verified and one more method needed, the phone's page (to change the
    number) says a new number adds none; the email's page says an address counts."""
    policy.methods_required = 2
    policy.save()
    client = person(make_user, "ola", False)
    register_phone(client)
    phone_page = text(client.get("/ssprsetup/phone/"))
    assert "You already have this method, so changing it or adding another" in phone_page
    assert "this one counts" not in phone_page
    email_page = text(client.get("/ssprsetup/email/"))
    assert "needs 1 more verified method from you, and this one counts" in email_page


@pytest.mark.parametrize(("to_reset", "says"), [(1, "You can still reset"), (2, "no longer have")])
def test_below_the_registration_the_overview_says_whether_a_reset_still_works(
    make_user, policy, to_reset, says
):
    """Registered with two methods, one left: the overview says what the portal would do
    under the policy's number to reset, which can be smaller than the number to register."""
    from django.utils import timezone

    from methods.models import AuthenticationEmail

    policy.methods_required = 2
    policy.reset_methods_required = to_reset
    policy.save()
    person = make_user("carol")
    AuthenticationEmail.objects.create(
        user=person, email="carol@example.net", verified_at=timezone.now()
    )
    Registration.objects.create(user=person, completed_at=timezone.now())
    client = Client()
    sign_in(client, "carol")
    page = client.get("/ssprsetup/").content.decode()
    assert "Your registration needs attention" in page and says in page
    reset = Client()
    start_reset(reset, "carol")
    reset.post("/passwordreset/email/", {"email": "carol@example.net"})
    passed = reset.post("/passwordreset/email/code/", {"code": last_email_code()})
    assert shows_finish_page(passed) == (to_reset == 1)
