"""A directory password's whole life (the README's "Directory"): an expired or must-change
password is changed through the site (OpenLDAP here; Active Directory in
test_active_directory.py), reminders go out before expiry, and the helpdesk lists who is
expiring, expired, must change or locked."""

from __future__ import annotations

import datetime

import ldap
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from ldap.controls import LDAPControl

from audit.models import Event, EventKind
from directory.servers import (
    DEMO_PEOPLE,
    EXPIRING_POLICY_DN,
    MAX_AGE_DAYS,
    NO_GRACE_POLICY_DN,
    PEOPLE,
    Person,
)
from tests.support.directory import binds, directory_sign_in, entry

pytestmark = [pytest.mark.directory, pytest.mark.django_db]

RELAX_RULES = LDAPControl("1.3.6.1.4.1.4203.666.5.12", True, None)
NEW_PASSWORD = "Lighthouse-copper-kettle-2027"

EVE = Person(
    "eve", "Eve-Directory-2026", "Eve", "Ever", "eve@example.org", policy=EXPIRING_POLICY_DN
)
NED = Person(
    "ned", "Ned-Directory-2026", "Ned", "Never", "ned@example.org", policy=NO_GRACE_POLICY_DN
)
NEW = Person("nia", "Nia-Directory-2026", "Nia", "Newman", "nia@example.org")
OUT = Person(
    "oz",
    "Oz-Directory-2026!",
    "Oz",
    "Outer",
    "oz@example.org",
    groups=(),
    policy=NO_GRACE_POLICY_DN,
)


@pytest.fixture
def slapd_people():
    return (*DEMO_PEOPLE, EVE, NED, NEW, OUT)


def set_changed(server, uid: str, when: datetime.datetime) -> None:
    """Travel a password's age: when the directory believes it was last set."""
    conn = server.connect()
    try:
        stamp = when.strftime("%Y%m%d%H%M%SZ").encode()
        conn.modify_ext_s(
            f"uid={uid},{PEOPLE}",
            [(ldap.MOD_REPLACE, "pwdChangedTime", [stamp])],
            serverctrls=[RELAX_RULES],
        )
    finally:
        conn.unbind_s()


def must_change(server, uid: str) -> None:
    """As an administrator's "must change at next sign-in" does."""
    conn = server.connect()
    try:
        conn.modify_ext_s(
            f"uid={uid},{PEOPLE}",
            [(ldap.MOD_REPLACE, "pwdReset", [b"TRUE"])],
            serverctrls=[RELAX_RULES],
        )
    finally:
        conn.unbind_s()


def expire(server, uid: str) -> None:
    now = datetime.datetime.now(datetime.UTC)
    set_changed(server, uid, now - datetime.timedelta(days=MAX_AGE_DAYS + 1))


def change_needed(client: Client, current: str, new: str = NEW_PASSWORD):
    return client.post(
        "/ssprsetup/password/",
        {"current_password": current, "new_password1": new, "new_password2": new},
    )


# --- Changing an expired or must-change password ----------------------------------------------


@pytest.mark.parametrize(
    ("person", "make_it", "heading"),
    [
        (NED, expire, "Your password has expired"),
        (EVE, expire, "Your password has expired"),  # grace logins left
        (NEW, must_change, "Your password must be changed"),
    ],
    ids=["expired-no-grace", "expired-with-grace", "must-change"],
)
def test_an_expired_or_must_change_password_is_changed_from_the_sign_in(
    slapd, directory, person, make_it, heading
):
    make_it(slapd, person.uid)
    client = Client()
    response = directory_sign_in(client, person.uid, person.password)
    assert response.status_code == 302
    assert response["Location"] == "/ssprsetup/password/"
    assert "_auth_user_id" not in client.session  # not signed in
    page = client.get("/ssprsetup/password/").content.decode()
    assert heading in page and person.uid in page
    response = change_needed(client, person.password)
    assert response["Location"] == "/ssprsetup/signin/", response.content.decode()[-3000:]
    # The sign-in page has the name filled in, once.
    assert f'value="{person.uid}"' in client.get("/ssprsetup/signin/").content.decode()
    assert f'value="{person.uid}"' not in client.get("/ssprsetup/signin/").content.decode()
    assert binds(slapd, person.uid, NEW_PASSWORD)
    assert not binds(slapd, person.uid, person.password)
    # No longer expired or must-change: the new password signs in as any other.
    assert "pwdReset" not in entry(slapd, person.uid, "pwdReset")
    response = directory_sign_in(Client(), person.uid, NEW_PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/"
    user = get_user_model().objects.get(username=person.uid)
    assert Event.objects.filter(kind=EventKind.PASSWORD_CHANGED, subject=user).exists()


def test_a_wrong_password_of_an_expired_account_reads_as_any_wrong_password(slapd, directory):
    expire(slapd, NED.uid)
    pages = []
    for username, password in [(NED.uid, "not-his-password"), ("nobody", "not-his-password")]:
        response = directory_sign_in(Client(), username, password)
        assert response.status_code == 200
        text = response.content.decode()
        pages.append(text[text.index('class="error-summary"') :].split("</div>")[0])
        assert "expired" not in text
    assert pages[0] == pages[1]
    assert not get_user_model().objects.filter(username=NED.uid).exists()


def test_an_expired_person_out_of_scope_is_not_led_to_the_change(slapd, directory):
    expire(slapd, OUT.uid)
    response = directory_sign_in(Client(), OUT.uid, OUT.password)
    assert response.status_code == 200
    assert "expired" not in response.content.decode()


def test_the_change_page_needs_the_sign_ins_proof(slapd, directory):
    expire(slapd, NED.uid)
    response = Client().get("/ssprsetup/password/")
    assert response.status_code == 302 and "/ssprsetup/signin/" in response["Location"]
    response = change_needed(Client(), NED.password)
    assert response.status_code == 302 and "/ssprsetup/signin/" in response["Location"]
    assert binds(slapd, NED.uid, NED.password) is False  # expired: still no bind
    assert not binds(slapd, NED.uid, NEW_PASSWORD)


def test_the_expired_change_asks_for_the_current_password_again(slapd, directory):
    expire(slapd, NED.uid)
    client = Client()
    directory_sign_in(client, NED.uid, NED.password)
    text = change_needed(client, "not-his-password").content.decode()
    assert "That is not your current password." in text
    # The directory's rules are listed before typing, as on the signed-in change.
    assert "It may not be one of your last 3 passwords." in text
    response = change_needed(client, NED.password)
    assert response.status_code == 302, response.content.decode()[-4000:]
    assert binds(slapd, NED.uid, NEW_PASSWORD)


def test_an_expired_sign_in_at_the_admin_leads_to_the_change_too(slapd, directory):
    expire(slapd, NED.uid)
    response = Client().post(
        "/admin/login/", {"username": NED.uid, "password": NED.password, "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/password/"


# --- Reminders before expiry --------------------------------------------------------------------


def run_reminders(now, **options):
    from directory.expiry_reminders import send_expiry_reminders

    return send_expiry_reminders(now=now, **options)


def reminded(outbox_from: int = 0) -> dict[str, str]:
    from django.core import mail

    return {message.to[0]: message.body for message in mail.outbox[outbox_from:]}


def test_each_reminder_goes_once_on_its_day_and_never_outside_the_scope(slapd, directory):
    from django.core import mail

    start = datetime.datetime.now(datetime.UTC)
    for person in (EVE, NED, OUT):
        set_changed(slapd, person.uid, start)
    # OUT's policy expires too, but OUT is not in the scope group; the demo people's never do.
    both = {"eve@example.org", "ned@example.org"}
    plan = [  # (days travelled, whom we expect a reminder for, its days)
        (10, set(), None),  # 20 days left: no reminder yet
        (16.5, both, "14 days"),
        (16.6, set(), None),  # the same day again: nothing more
        (23.5, both, "7 days"),
        (29.5, both, "tomorrow"),  # the 3-day run was missed: only the 1-day
        (29.9, set(), None),
        (31, set(), None),  # expired: the sign-in leads to the change
    ]
    for days, expected, words in plan:
        before = len(mail.outbox)
        report = run_reminders(start + datetime.timedelta(days=days))
        got = reminded(before)
        assert set(got) == expected, days
        assert report.reminded == len(expected)
        for body in got.values():
            assert words in body
            assert "/ssprsetup/password/" in body and "/passwordreset/" in body
    runs = Event.objects.filter(kind=EventKind.REMINDERS_SENT, details__reminder="password_expiry")
    assert runs.count() == len(plan)  # one audit event per run, with its counts
    assert [e.details["count"] for e in runs.order_by("pk")] == [0, 2, 0, 2, 2, 0, 0]
    assert "oz@example.org" not in str([m.to for m in mail.outbox])


def test_a_registered_person_is_reminded_at_the_proven_address_in_their_language(slapd, directory):
    from django.core import mail
    from django.utils import timezone

    from methods.models import AuthenticationEmail
    from registration.models import Registration

    conn = slapd.connect()
    conn.modify_s(f"uid=eve,{PEOPLE}", [(ldap.MOD_REPLACE, "preferredLanguage", [b"de"])])
    conn.unbind_s()
    start = datetime.datetime.now(datetime.UTC)
    set_changed(slapd, "eve", start)
    expire(slapd, NED.uid)  # expired already: no reminder
    directory_sign_in(Client(), EVE.uid, EVE.password)
    eve = get_user_model().objects.get(username="eve")
    AuthenticationEmail.objects.create(
        user=eve, email="eve@home.example", verified_at=timezone.now()
    )
    Registration.objects.create(user=eve, completed_at=timezone.now())
    run_reminders(start + datetime.timedelta(days=16.5))
    (message,) = mail.outbox
    assert message.to == ["eve@home.example"]
    assert "/ssprsetup/password/" in message.body
    assert "while you can still sign in" not in message.body  # registered: no such line
    # In German, the directory's preferredLanguage (dates as German readers write them).
    from django.utils import formats, translation

    expires = timezone.localtime(start + datetime.timedelta(days=MAX_AGE_DAYS))
    with translation.override("de"):
        assert formats.date_format(expires, "DATE_FORMAT") in message.body


def test_an_unregistered_person_is_asked_to_register_too(slapd, directory):
    from django.core import mail

    start = datetime.datetime.now(datetime.UTC)
    set_changed(slapd, "eve", start)
    expire(slapd, NED.uid)  # expired already: no reminder
    run_reminders(start + datetime.timedelta(days=16.5))
    (message,) = mail.outbox
    assert message.to == ["eve@example.org"]  # the directory's address: nothing proven yet
    assert "while you can still sign in" in message.body


def test_a_person_whose_registration_lapsed_is_told_it_is_no_longer_complete(slapd, directory):
    """Registered once, then short of the policy (registration.flows.registration_lapse keeps
    the last confirmation): not "You have not yet registered", which they did."""
    from django.core import mail
    from django.utils import timezone

    from registration.models import Registration

    start = datetime.datetime.now(datetime.UTC)
    set_changed(slapd, "eve", start)
    expire(slapd, NED.uid)  # expired already: no reminder
    directory_sign_in(Client(), EVE.uid, EVE.password)
    eve = get_user_model().objects.get(username="eve")
    Registration.objects.create(user=eve, completed_at=None, last_confirmed_at=timezone.now())
    run_reminders(start + datetime.timedelta(days=16.5))
    (message,) = mail.outbox
    assert "prove who you are is no longer complete. Complete it now" in message.body
    assert "You have not yet registered" not in message.body


def test_the_command_dry_run_sends_nothing_and_reports(slapd, directory):
    import io

    from django.core import mail
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    expire(slapd, NED.uid)
    set_changed(slapd, "eve", datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=20))
    call_command("send_expiry_reminders", "--dry-run", stdout=out, stderr=err)
    assert "Reminders due: 1." in out.getvalue() and "nothing was sent" in out.getvalue()
    assert "People read:" in err.getvalue()
    assert mail.outbox == []
    call_command("send_expiry_reminders", stdout=out, stderr=err)
    call_command("send_expiry_reminders", stdout=out, stderr=err)
    assert len(mail.outbox) == 1


def test_reminder_days_are_checked_in_the_policy(db):
    from django.core.exceptions import ValidationError

    from policy.models import Policy

    policy = Policy.load()
    # "²" and "１４" are digits to Python but not days typed as 0-9 (once a server error).
    for bad in ("14,x", "0,7", "400", "7;3", "²", "14,²", "１４"):
        policy.expiry_reminder_days = bad
        with pytest.raises(ValidationError) as raised:
            policy.full_clean()
        assert "expiry_reminder_days" in raised.value.message_dict
    # A day listed twice is named as the problem.
    policy.expiry_reminder_days = "7,1,1"
    with pytest.raises(ValidationError) as raised:
        policy.full_clean()
    assert raised.value.message_dict["expiry_reminder_days"] == [
        "List each day once: 1 is listed more than once."
    ]
    policy.expiry_reminder_days = " 7, 30 ,1"
    policy.full_clean()


# --- The helpdesk's list and the admin home -------------------------------------------------


@pytest.fixture
def _states(slapd):
    from tests.support.directory import lock_out

    now = datetime.datetime.now(datetime.UTC)
    set_changed(slapd, EVE.uid, now - datetime.timedelta(days=MAX_AGE_DAYS - 5))  # 5 days left
    expire(slapd, NED.uid)
    must_change(slapd, NEW.uid)
    lock_out(slapd, "grace")
    expire(slapd, OUT.uid)  # out of scope: never listed


def listed(client, query: str = "") -> list[str]:
    import re

    text = client.get("/helpdesk/passwords/?" + query).content.decode()
    body = text[text.index("<tbody") : text.index("</tbody>")]
    return re.findall(r'<td role="cell" class="whole">([^<]+)</td>', body)


def test_the_helpdesk_lists_who_expires_expired_must_change_or_is_locked(
    slapd, directory, helpdesk_client, _states, django_assert_max_num_queries
):
    from django.core.cache import cache

    cache.clear()
    assert sorted(listed(helpdesk_client)) == ["eve", "grace", "ned", "nia"]
    assert listed(helpdesk_client, "state=expiring&days=14") == ["eve"]
    assert listed(helpdesk_client, "state=expiring&days=3") == []
    assert listed(helpdesk_client, "state=expired") == ["ned"]
    assert listed(helpdesk_client, "state=must_change") == ["nia"]
    assert listed(helpdesk_client, "state=locked") == ["grace"]
    assert listed(helpdesk_client, "sort=-username") == ["nia", "ned", "grace", "eve"]
    text = helpdesk_client.get("/helpdesk/passwords/").content.decode()
    assert "eve@example.org" not in text and "e•" in text or "@example.org" in text
    assert "eve@example.org" not in text  # masked as on every helpdesk list
    # A bad filter is refused at the field, and changes nothing.
    response = helpdesk_client.get("/helpdesk/passwords/?state=expiring&days=0")
    assert response.status_code == 200 and 'aria-invalid="true"' in response.content.decode()
    # Read once, kept for a minute: stopping the directory changes nothing on the page.
    slapd.stop()
    assert sorted(listed(helpdesk_client)) == ["eve", "grace", "ned", "nia"]
    # Past the minute, with the directory still down: the last list, said to be the last one
    # read, not an error page.
    from django.db.models import F

    from directory.models import PasswordScan

    PasswordScan.objects.update(completed_at=F("completed_at") - datetime.timedelta(minutes=2))
    cache.clear()
    page = helpdesk_client.get("/helpdesk/passwords/")
    assert page.status_code == 200
    assert "The directory cannot be reached just now: this list is as it was read at" in (
        page.content.decode()
    )
    assert sorted(listed(helpdesk_client)) == ["eve", "grace", "ned", "nia"]
    # With no list read before: the helpdesk's own page says so, with its menu.
    PasswordScan.objects.all().delete()
    cache.clear()
    page = helpdesk_client.get("/helpdesk/passwords/")
    text = page.content.decode()
    assert page.status_code == 503
    assert "this list has not been read from it yet" in text and 'href="/helpdesk/"' in text


def test_the_lists_snapshot_holds_masked_addresses(slapd, directory, helpdesk_client, _states):
    """The list's last read is kept in the database with no full address (docs/security.md
    rules 20 and 48); the page built from it is the same."""
    from django.db import connection

    from directory.models import PasswordLife
    from directory.password_life import watched

    first = sorted(listed(helpdesk_client))
    stored = list(PasswordLife.objects.values_list("username", "email"))
    assert {username for username, _email in stored} == set(first)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM directory_passwordlife")
        table = repr(cursor.fetchall())
    assert "example.org" in table  # the domain is kept, as the helpdesk sees it
    for person in (EVE, NED, NEW):
        assert person.mail not in table
    # Read back from the database: the same people, in the same states, the email masked.
    assert sorted(listed(helpdesk_client)) == first == ["eve", "grace", "ned", "nia"]
    now = datetime.datetime.now(datetime.UTC)
    people = {life.username: life for life in watched().people}
    assert people["eve"].days_left(now) == 5 and not people["eve"].expired(now)
    assert people["ned"].expired(now) and people["nia"].must_change and people["grace"].locked
    assert people["eve"].email == "e•••@example.org" and people["eve"].name == "Eve Ever"


def test_the_helpdesk_exports_the_list_as_csv(slapd, directory, helpdesk_client, _states):
    from django.core.cache import cache

    cache.clear()
    response = helpdesk_client.get("/helpdesk/passwords/export.csv?state=expired")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0] == "username,name,email,expires_at,state"
    assert len(lines) == 2 and lines[1].startswith("ned,Ned Never,")
    assert "ned@example.org" not in body
    assert Event.objects.filter(kind=EventKind.HELPDESK_EXPORT).exists()


def test_people_without_the_helpdesk_permission_are_refused(slapd, directory, make_user):
    from tests.support.people import past_sign_in_check

    client = past_sign_in_check(Client(), make_user("someone", password=None))
    assert client.get("/helpdesk/passwords/").status_code == 403
    assert client.get("/helpdesk/passwords/export.csv").status_code == 403


def test_the_admin_home_shows_the_last_reminder_run(slapd, directory, admin_client):
    start = datetime.datetime.now(datetime.UTC)
    set_changed(slapd, EVE.uid, start - datetime.timedelta(days=20))  # 10 days left
    expire(slapd, NED.uid)
    text = admin_client.get("/admin/").content.decode()
    assert "have not run yet" in text
    run_reminders(start)
    text = admin_client.get("/admin/").content.decode()
    assert "People reminded: 1. Passwords expiring in the next 14 days: 1." in text


def test_the_language_chosen_here_wins_over_the_directorys(slapd, directory):
    """Eve's directory entry says German; she chose Polish with the site's picker: the
    reminder is in Polish (README, "Languages")."""
    from django.core import mail
    from django.utils import formats, timezone, translation

    from registration.models import PreferredLanguage

    conn = slapd.connect()
    conn.modify_s(f"uid=eve,{PEOPLE}", [(ldap.MOD_REPLACE, "preferredLanguage", [b"de"])])
    conn.unbind_s()
    start = datetime.datetime.now(datetime.UTC)
    set_changed(slapd, "eve", start)
    expire(slapd, NED.uid)
    directory_sign_in(Client(), EVE.uid, EVE.password)
    eve = get_user_model().objects.get(username="eve")
    # As the footer's picker stores it (registration/language.py).
    PreferredLanguage.objects.update_or_create(
        user=eve, defaults={"language": "pl", "chosen": True}
    )
    run_reminders(start + datetime.timedelta(days=16.5))
    (message,) = mail.outbox
    expires = timezone.localtime(start + datetime.timedelta(days=MAX_AGE_DAYS))
    with translation.override("pl"):
        assert formats.date_format(expires, "DATE_FORMAT") in message.body
    with translation.override("de"):
        assert formats.date_format(expires, "DATE_FORMAT") not in message.body
