"""The policy's impact preview, its audit, and the user admin's registration columns."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Event, EventKind
from methods.models import AuthenticationEmail, AuthenticationPhone, OfficePhone, SecurityAnswer
from policy.models import Policy
from registration.models import Registration
from tests.attacks.test_policy_numbers import admin_form
from tests.registration.test_admin import confirmed, policy_form

pytestmark = pytest.mark.django_db


def give(user, *, phone=False, email=False, office=False, answers=0):
    now = timezone.now()
    if phone:
        AuthenticationPhone.objects.create(user=user, number="+447400123456", verified_at=now)
    if email:
        AuthenticationEmail.objects.create(user=user, email="x@example.net", verified_at=now)
    if office:
        OfficePhone.objects.create(user=user, number="+442071838750")
    from methods.models import SecurityQuestion

    for question in SecurityQuestion.objects.all()[:answers]:
        SecurityAnswer.objects.create(user=user, question=question, answer_hash="argon2$x")


@pytest.fixture
def population(make_user):
    one = make_user("one", password=None)
    give(one, phone=True)
    two = make_user("two", password=None)
    give(two, phone=True, email=True)
    quiz = make_user("quiz", password=None)
    give(quiz, phone=True, answers=3)
    none = make_user("none", password=None)
    staff = make_user("boss", staff=True, password=None)
    give(staff, phone=True, answers=3)
    return {"one": one, "two": two, "quiz": quiz, "none": none, "boss": staff}


def test_raising_reset_methods_shows_who_could_no_longer_reset_and_waits(admin_client, population):
    response = admin_client.post(
        "/admin/policy/policy/1/change/", policy_form(reset_methods_required="2")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "methods required to reset raised from 1 to 2" in page
    # "one" has a single method; "quiz" has phone + questions (fine); "two" has two.
    assert "1 user who can reset their password today could not under the new policy" in page
    assert ">one</a>" in page and ">two</a>" not in page
    assert Policy.load().reset_methods_required == 1  # nothing saved yet

    data = policy_form(reset_methods_required="2") | confirmed(page)
    response = admin_client.post("/admin/policy/policy/1/change/", data)
    assert response.status_code == 302
    assert Policy.load().reset_methods_required == 2
    event = Event.objects.get(kind=EventKind.POLICY_CHANGED)
    assert event.details == {"changed": {"reset_methods_required": [1, 2]}}
    assert event.actor == admin_client.admin


def test_turning_a_method_off_is_previewed(admin_client, population):
    response = admin_client.post(
        "/admin/policy/policy/1/change/",
        policy_form(method__phone__enabled=None, methods_required="1"),
    )
    page = response.content.decode()
    assert "turned off" in page
    assert "2 users who can reset their password today could not" in page  # one, quiz


def test_narrower_scope_is_previewed(admin_client, population):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="pilot")
    population["two"].groups.add(group)
    response = admin_client.post(
        "/admin/policy/policy/1/change/",
        policy_form(scope="group", scope_group=str(group.pk)),
    )
    page = response.content.decode()
    assert "enabled for fewer people" in page
    assert "2 users who can reset" in page  # one and quiz fall out of scope


def test_loosening_saves_without_a_preview(admin_client, population):
    response = admin_client.post(
        "/admin/policy/policy/1/change/", policy_form(methods_required="1")
    )
    assert response.status_code == 302
    assert Policy.load().methods_required == 1


def test_admin_page_states_the_staff_rule(admin_client):
    page = admin_client.get("/admin/policy/policy/1/change/").content.decode()
    assert "Staff accounts always need two methods" in page


def test_user_list_shows_state_and_reset_ability_with_filters(admin_client, population):
    now = timezone.now()
    Registration.objects.create(user=population["two"], completed_at=now, last_confirmed_at=now)
    Registration.objects.create(
        user=population["one"],
        completed_at=now,
        last_confirmed_at=now,
        reconfirmation_required=True,
    )
    page = admin_client.get("/admin/auth/user/").content.decode()
    assert "Reconfirmation due" in page and "Not registered" in page
    page = admin_client.get("/admin/auth/user/?sspr_state=registered").content.decode()
    assert ">two</a>" in page and ">one</a>" not in page
    page = admin_client.get("/admin/auth/user/?sspr_can_reset=no").content.decode()
    # Staff need two methods other than questions; "none" has nothing.
    assert ">boss</a>" in page and ">none</a>" in page and ">two</a>" not in page


def test_user_list_costs_the_same_queries_for_more_users(admin_client, make_user):
    with CaptureQueriesContext(connection) as few:
        admin_client.get("/admin/auth/user/")
    for index in range(30):
        user = make_user(f"bulk{index}", password=None)
        give(user, phone=True, answers=3)
    with CaptureQueriesContext(connection) as many:
        admin_client.get("/admin/auth/user/")
    assert len(many) == len(few)


def test_admin_prepopulates_a_phone_only_with_consent(admin_client, make_user):
    user = make_user("pat", password=None)
    url = f"/admin/auth/user/{user.pk}/change/"
    data = admin_form(user, authentication_phone="+447400123456")
    del data["authentication_phone-0-user_agreed"]  # not ticked yet
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Record that the user agreed" in response.content.decode()
    assert not AuthenticationPhone.objects.exists()

    response = admin_client.post(url, data | {"authentication_phone-0-user_agreed": "on"})
    assert response.status_code == 302
    phone = AuthenticationPhone.objects.get(user=user)
    assert phone.prepopulated and phone.verified_at is None and phone.consent_recorded_at
    event = Event.objects.get(kind=EventKind.METHOD_PREPOPULATED)
    assert event.details == {"method": "authentication_phone"} and event.subject == user


def test_the_admin_home_says_how_many_are_registered_and_can_reset(
    admin_client, population, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        page = admin_client.get("/admin/").content.decode()
    summary = page.split('id="registration-summary"')[1].split("</div>")[0]
    in_scope = get_user_model().objects.count()  # everyone, by default
    # one, two and quiz have a verified phone; boss is staff (needs two); none has nothing.
    assert f"0 of {in_scope} people in scope are registered; 3 can reset" in summary
    assert 'href="/helpdesk/"' in summary and 'href="/helpdesk/report/"' in summary


def test_the_admin_home_counts_at_most_once_a_minute_for_one_policy(admin_client, population):
    import time_machine

    def summary():
        page = admin_client.get("/admin/").content.decode()
        return page.split('id="registration-summary"')[1].split("</div>")[0]

    first = summary()
    assert "3 can reset" in first and "Counted at" in first
    give(population["none"], phone=True)  # a fourth person can now reset
    assert "3 can reset" in summary()  # within the minute: as counted
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=61), tick=False):
        assert "4 can reset" in summary()
    # A new policy is counted at once: with two methods required, "two" (phone and email) and
    # "quiz" (phone and questions) can reset.
    policy = Policy.load()
    policy.reset_methods_required = 2
    policy.save()
    assert "2 can reset" in summary()


def _user_page(user, *, phone=None, email=None) -> dict[str, str]:
    """The user's admin page as posted (`admin_form`), with its phone and email inlines as they
    are stored."""
    data = admin_form(user)
    for prefix, record, field in (
        ("authentication_phone", phone, "number"),
        ("authentication_email", email, "email"),
    ):
        if record:
            data |= {
                f"{prefix}-TOTAL_FORMS": "1",
                f"{prefix}-INITIAL_FORMS": "1",
                f"{prefix}-0-id": str(record.pk),
                f"{prefix}-0-user": str(user.pk),
                f"{prefix}-0-{field}": str(getattr(record, field)),
            }
    return data


def test_a_verified_value_is_never_replaced_from_the_admin(admin_client, make_user):
    """A verified number typed in its national form, or an address in other capitals, is the
    same value: nothing changes and nothing is logged as prepopulated. Another value is
    refused."""
    user = make_user("carol", password=None)
    verified = timezone.now()
    phone = AuthenticationPhone.objects.create(
        user=user, number="+447911123456", verified_at=verified
    )
    email = AuthenticationEmail.objects.create(
        user=user, email="carol.home@example.net", verified_at=verified
    )
    url = f"/admin/auth/user/{user.pk}/change/"
    data = _user_page(user, phone=phone, email=email) | {
        "authentication_phone-0-region": "GB",
        "authentication_phone-0-number": "07911 123456",
        "authentication_phone-0-user_agreed": "on",
        "authentication_email-0-email": "Carol.Home@EXAMPLE.NET",
        "authentication_email-0-user_agreed": "on",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    phone.refresh_from_db()
    email.refresh_from_db()
    assert str(phone.number) == "+447911123456" and phone.verified_at == verified
    assert not phone.prepopulated
    assert email.email == "carol.home@example.net" and email.verified_at == verified
    assert not email.prepopulated
    assert not Event.objects.filter(kind=EventKind.METHOD_PREPOPULATED).exists()

    # Without the consent box the same value is no change either, so nothing is asked for.
    for key in ("authentication_phone-0-user_agreed", "authentication_email-0-user_agreed"):
        data.pop(key)
    assert admin_client.post(url, data).status_code == 302

    # Another number or address is refused beside its field, as the contact import keeps a
    # verified value: no proof, notice or "That wasn't me" link would go with it from here.
    data |= {
        "authentication_phone-0-number": "07911 123457",
        "authentication_phone-0-user_agreed": "on",
        "authentication_email-0-email": "attacker@example.com",
        "authentication_email-0-user_agreed": "on",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("The user verified this value, so it cannot be replaced here.") == 2
    phone.refresh_from_db()
    email.refresh_from_db()
    assert str(phone.number) == "+447911123456" and phone.verified_at == verified
    assert email.email == "carol.home@example.net" and email.verified_at == verified
    assert not Event.objects.filter(kind=EventKind.METHOD_PREPOPULATED).exists()


def test_confirming_an_old_impact_page_after_another_change_saves_nothing(admin_client, population):
    """The preview's confirmation carries the policy it was shown for; a change saved in the
    meantime is never put back by it."""
    url = "/admin/policy/policy/1/change/"
    tighter = policy_form(reset_methods_required="2")
    old_page = admin_client.post(url, tighter).content.decode()
    assert "Confirm the policy change" in old_page
    # Meanwhile someone else saves another change (a looser one: no preview).
    response = admin_client.post(url, policy_form(helpdesk_contact="it-support@example.org"))
    assert response.status_code == 302
    events = Event.objects.filter(kind=EventKind.POLICY_CHANGED).count()

    response = admin_client.post(url, tighter | confirmed(old_page), follow=True)
    page = response.content.decode()
    assert "was changed by someone else after that confirmation page was shown" in page
    policy = Policy.load()
    assert policy.helpdesk_contact == "it-support@example.org"
    assert policy.reset_methods_required == 1
    assert Event.objects.filter(kind=EventKind.POLICY_CHANGED).count() == events
    # A confirmation without the version it was shown for is refused the same way.
    response = admin_client.post(url, tighter | {"_confirm_impact": "1"})
    assert response.status_code == 302 and Policy.load().reset_methods_required == 1


def version_of(page: str) -> dict[str, str]:
    return {"_policy_version": re.search(r'name="_policy_version" value="([^"]*)"', page)[1]}


def test_saving_the_policy_from_an_old_tab_puts_back_nothing(admin_client):
    """Two tabs on the policy page: the first saves the helpdesk's address; the second, drawn
    before it, saves another field. Its page carries the version it was drawn from, so it
    is refused, and the first change stays."""
    url = "/admin/policy/policy/1/change/"
    first, second = (version_of(admin_client.get(url).content.decode()) for _ in range(2))
    contact = policy_form(helpdesk_contact="it-support@example.org")
    assert admin_client.post(url, contact | first).status_code == 302
    events = Event.objects.filter(kind=EventKind.POLICY_CHANGED).count()
    page = admin_client.post(
        url, policy_form(reminder_interval_days="21") | second, follow=True
    ).content.decode()
    assert "after this page was opened (in another tab, or by someone else)" in page
    policy = Policy.load()
    assert policy.helpdesk_contact == "it-support@example.org"
    assert policy.reminder_interval_days == 14
    assert Event.objects.filter(kind=EventKind.POLICY_CHANGED).count() == events
    # The same form sent twice (a double click): the second says it was saved already.
    page = admin_client.post(url, contact | first, follow=True).content.decode()
    assert "This change was already saved." in page and "nothing was saved" not in page


def test_a_tightening_from_an_old_tab_gets_no_confirmation_to_save_it(admin_client, population):
    """A tab drawn before another saved the policy asks for more of people: it is refused as
    an old tab, not shown a confirmation that would save its old values over the change."""
    url = "/admin/policy/policy/1/change/"
    first, second = (version_of(admin_client.get(url).content.decode()) for _ in range(2))
    contact = policy_form(helpdesk_contact="it-support@example.org")
    assert admin_client.post(url, contact | first).status_code == 302
    response = admin_client.post(url, policy_form(reset_methods_required="2") | second)
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert "after this page was opened (in another tab, or by someone else)" in page
    policy = Policy.load()
    assert policy.helpdesk_contact == "it-support@example.org"
    assert policy.reset_methods_required == 1


def test_a_confirmation_sent_twice_says_it_was_saved_already(admin_client, population):
    url = "/admin/policy/policy/1/change/"
    tighter = policy_form(reset_methods_required="2")
    preview = admin_client.post(url, tighter).content.decode()
    assert admin_client.post(url, tighter | confirmed(preview)).status_code == 302
    page = admin_client.post(url, tighter | confirmed(preview), follow=True).content.decode()
    assert "This change was already saved." in page
    assert "changed by someone else" not in page
    assert Policy.load().reset_methods_required == 2


def test_a_persons_page_heads_their_phone_and_email_with_their_name(admin_client, make_user):
    rita = make_user("rita")
    give(rita, phone=True, email=True)
    page = admin_client.get(f"/admin/auth/user/{rita.pk}/change/").content.decode()
    assert "Authentication phone of rita" in page and "Authentication email of rita" in page
    assert f"Authentication phone of {rita.pk}" not in page


def test_the_policy_pages_method_options_begin_with_a_capital(admin_client):
    page = admin_client.get("/admin/policy/policy/1/change/").content.decode()
    labels = re.findall(r'<label[^>]*for="id_method__[^"]+"[^>]*>([^<]+)<', page)
    assert labels and all(label[0].isupper() for label in labels), labels
    assert "Codes by text message" in page
    assert "complete registration" in page and "before Finish" not in page


def test_deleting_a_verified_phone_or_email_in_the_admin_is_recorded_and_told(
    admin_client, make_user, django_capture_on_commit_callbacks
):
    """As when the person removes them: an audit event each, by the administrator, and a
    notice at the person's addresses (the removed one too), the values masked."""
    from django.core import mail

    user = make_user("carol", password=None, email="carol@example.org")
    verified = timezone.now()
    phone = AuthenticationPhone.objects.create(
        user=user, number="+447911123456", verified_at=verified
    )
    email = AuthenticationEmail.objects.create(
        user=user, email="carol.home@example.net", verified_at=verified
    )
    data = _user_page(user, phone=phone, email=email) | {
        "authentication_phone-0-DELETE": "on",
        "authentication_email-0-DELETE": "on",
    }
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not AuthenticationPhone.objects.exists() and not AuthenticationEmail.objects.exists()
    events = Event.objects.filter(subject=user, kind=EventKind.METHOD_REMOVED)
    assert sorted((e.details["method"], e.details["by"]) for e in events) == [
        ("authentication_email", "administrator"),
        ("authentication_phone", "administrator"),
    ]
    told = [message for message in mail.outbox if "carol@example.org" in message.to]
    assert len(told) == 2 and all("removed" in message.body for message in told)
    assert any("carol.home@example.net" in message.to for message in mail.outbox)
    bodies = " ".join(message.body for message in told)
    assert "7911123456" not in bodies and "carol.home@" not in bodies


def test_a_deletion_in_the_admin_that_leaves_the_person_short_ends_the_registration(
    admin_client, make_user, django_capture_on_commit_callbacks
):
    from registration.models import Registration

    user = make_user("carol", password=None, email="carol@example.org")
    verified = timezone.now()
    phone = AuthenticationPhone.objects.create(
        user=user, number="+447911123456", verified_at=verified
    )
    email = AuthenticationEmail.objects.create(
        user=user, email="carol.home@example.net", verified_at=verified
    )
    Registration.objects.create(user=user, completed_at=verified, last_confirmed_at=verified)
    data = _user_page(user, phone=phone, email=email) | {"authentication_email-0-DELETE": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    # One of the two methods the policy asks for is left: carol is not registered any more.
    assert Registration.objects.get(user=user).completed_at is None
    (lapsed,) = Event.objects.filter(subject=user, kind=EventKind.REGISTRATION_LAPSED)
    assert lapsed.actor.is_superuser  # the administrator's doing


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_sends", ["a change", "a confirmed tightening"])
def test_two_policy_pages_sent_at_the_same_moment_save_one(
    admin_client, approved_questions, monkeypatch, first_sends
):
    """The policy page, drawn at one version, is sent from two browsers, the second while
    the first is being saved (a change, or the confirmation of one that asks more of people):
    the second waits for the first and is refused, as an old tab is; the first's change stays
    and one change is recorded."""
    import threading
    import time

    from django.test import Client

    from policy.admin import PolicyAdmin

    url = "/admin/policy/policy/1/change/"
    Policy.objects.get_or_create(pk=1)  # the one policy, as the site makes it on its first read
    first, second = admin_client, Client()  # the administrator's two browsers
    second.force_login(admin_client.admin)
    session = second.session
    session.pop("sspr_check_registration", None)
    session.save()
    drawn = first.get(url)
    assert drawn.status_code == 200, drawn
    version = version_of(drawn.content.decode())
    saving, go_on = threading.Event(), threading.Event()
    save_model = PolicyAdmin.save_model

    def slow_save(self, request, obj, form, change):
        if not saving.is_set():  # the first page sent, held in its save
            saving.set()
            go_on.wait(10)
        return save_model(self, request, obj, form, change)

    monkeypatch.setattr(PolicyAdmin, "save_model", slow_save)
    outcomes = {}

    def send(name, client, data):
        try:
            outcomes[name] = client.post(url, data, follow=True).content.decode()
        finally:
            connection.close()

    change = policy_form(helpdesk_contact="it@example.org")
    if first_sends == "a confirmed tightening":
        change = policy_form(helpdesk_contact="it@example.org", reset_methods_required="2") | {
            "_confirm_impact": "1"
        }
    one = threading.Thread(target=send, args=("first", first, change | version))
    two = threading.Thread(
        target=send, args=("second", second, policy_form(reminder_interval_days="21") | version)
    )
    one.start()
    assert saving.wait(10)
    two.start()
    time.sleep(1)  # the second is sent while the first is still saving
    go_on.set()
    for thread in (one, two):
        thread.join(30)
    assert "nothing was saved" not in outcomes["first"]
    assert "after this page was opened (in another tab, or by someone else)" in outcomes["second"]
    policy = Policy.load()
    assert policy.helpdesk_contact == "it@example.org"
    assert policy.reset_methods_required == (2 if first_sends == "a confirmed tightening" else 1)
    assert policy.reminder_interval_days == 14
    assert Event.objects.filter(kind=EventKind.POLICY_CHANGED).count() == 1


def test_a_policy_address_that_names_no_policy_is_sent_away_not_an_error(admin_client):
    for address in ("/admin/policy/policy/abc/change/", "/admin/policy/policy/2/change/"):
        response = admin_client.post(address, policy_form())
        assert response.status_code == 302, address
    assert Policy.load().helpdesk_contact == ""
