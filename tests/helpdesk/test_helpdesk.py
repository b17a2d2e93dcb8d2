"""/helpdesk: access, masking, filters, export, the per-user page, the report, verify a caller."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from audit.models import Event, EventKind
from methods.models import AuthenticationEmail, AuthenticationPhone, OfficePhone
from registration.models import Registration
from tests.registration.test_admin_users import give
from tests.support.codes import last_email_code, last_phone_code
from tests.support.people import past_sign_in_check

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(helpdesk_client) -> Client:
    return helpdesk_client


@pytest.fixture
def people(make_user, policy):
    policy.set_option("office", "enabled", True)
    policy.save()
    now = timezone.now()
    ann = make_user("ann", password=None, last_name="Archer")
    AuthenticationPhone.objects.create(user=ann, number="+447400123456", verified_at=now)
    AuthenticationEmail.objects.create(user=ann, email="ann.home@example.net", verified_at=now)
    OfficePhone.objects.create(user=ann, number="+442071838750")
    Registration.objects.create(user=ann, completed_at=now, last_confirmed_at=now)
    bob = make_user("bob", password=None)
    give(bob, answers=3)
    cid = make_user("cid", password=None)
    Registration.objects.create(
        user=cid, completed_at=now, last_confirmed_at=now - timedelta(days=400)
    )
    AuthenticationPhone.objects.create(user=cid, number="+447400654321", verified_at=now)
    return {"ann": ann, "bob": bob, "cid": cid}


URLS = ["/helpdesk/", "/helpdesk/export.csv", "/helpdesk/report/"]


@pytest.mark.parametrize("path", URLS)
def test_only_the_helpdesk_and_administrators_get_in(client, make_user, admin_client, desk, path):
    assert desk.get(path).status_code == 200
    assert admin_client.get(path).status_code == 200
    someone = past_sign_in_check(Client(), make_user("someone", password=None))
    assert someone.get(path).status_code == 403
    staff = past_sign_in_check(Client(), make_user("staffer", staff=True, password=None))
    assert staff.get(path).status_code == 403
    assert client.get(path).status_code == 302  # anonymous: sign in first


def test_per_user_pages_are_closed_to_others_whatever_the_id(make_user, people, desk):
    someone = past_sign_in_check(Client(), make_user("someone", password=None))
    for user in people.values():
        assert someone.get(f"/helpdesk/users/{user.pk}/").status_code == 403
        assert someone.get(f"/helpdesk/users/{user.pk}/verify/").status_code == 403
    assert desk.get("/helpdesk/users/999999/").status_code == 404


def test_status_list_masks_contact_details(desk, people):
    page = desk.get("/helpdesk/").content.decode()
    assert "+44 ••••••••56" in page and "a•••@example.net" in page
    assert "+44 ••••••••50" in page  # the office phone, masked as every phone
    for secret in ("7400123456", "7400 123456", "ann.home@", "7183 8750", "71838750"):
        assert secret not in page


def test_export_streams_the_filtered_list_masked(desk, people):
    response = desk.get("/helpdesk/export.csv?state=registered")
    assert response.streaming
    content = b"".join(response.streaming_content)
    # A byte-order mark, so a spreadsheet reads the bullets and accents as UTF-8.
    assert content.startswith(b"\xef\xbb\xbfusername,")
    body = content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["username"] for row in rows] == ["ann"]
    # A leading + would make a spreadsheet read the cell as a formula: phones are tel: URIs,
    # without the quote that other formula-like cells get.
    assert rows[0]["authentication_phone"] == "tel:+44 ••••••••56"
    assert rows[0]["office_phone"] in ("", "tel:+44 ••••••••50")
    assert "'" not in body
    assert rows[0]["authentication_email"] == "a•••@example.net"
    assert "7400123456" not in body and "ann.home" not in body and "71838750" not in body
    assert Event.objects.filter(kind=EventKind.HELPDESK_EXPORT).count() == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["agent", "ann", "bob", "cid"]),
        ("q=archer", ["ann"]),
        ("q=BOB", ["bob"]),
        # Each word in one of the fields: a name and a surname, in either order.
        ("q=ann+archer", ["ann"]),
        ("q=+Archer++ann+", ["ann"]),
        ("q=archer+bob", []),
        # An address whole, in any case; never a part of one (the list masks it).
        ("q=ANN%40EXAMPLE.ORG", ["ann"]),
        ("q=agent%40example.org", ["agent"]),
        ("q=example.org", []),
        ("state=not_registered", ["agent", "bob"]),
        ("state=reconfirmation_due", ["cid"]),
        ("method=questions", ["bob"]),
        ("method=office", ["ann"]),
        ("can_reset=yes", ["ann", "cid"]),
        ("can_reset=no", ["agent", "bob"]),
        ("sort=-username", ["cid", "bob", "ann", "agent"]),
    ],
)
def test_search_filters_and_sorting(desk, people, query, expected):
    page = desk.get(f"/helpdesk/?{query}").content.decode()
    assert re.findall(r'href="/helpdesk/users/\d+/">([^<]+)</a>', page) == expected


def test_the_list_pages_through_many_users(desk, make_user):
    for index in range(60):
        make_user(f"many{index:02d}", password=None)
    first = desk.get("/helpdesk/").content.decode()
    assert "Page 1 of 2" in first
    second = desk.get("/helpdesk/?page=2").content.decode()
    assert len(re.findall(r'href="/helpdesk/users/', second)) == 11


def test_a_list_longer_than_the_bound_says_so_and_sorts_by_name(
    desk, people, make_user, monkeypatch
):
    from sspr_site.paging import BoundedPaginator

    monkeypatch.setattr(BoundedPaginator, "bound", 5)
    for index in range(4):
        make_user(f"more{index}", password=None)  # 8 people with the agent
    page = desk.get("/helpdesk/?sort=-state").content.decode()
    assert "More than 5 users: the first 5 are listed." in page
    # Sorting by state would read every row: the long list comes by name, and says why.
    assert "sorting by another column needs a shorter list" in page
    names = re.findall(r'href="/helpdesk/users/\d+/">([^<]+)</a>', page)
    assert names == ["agent", "ann", "bob", "cid", "more0"]
    # A list within the bound is counted exactly and sorted as asked.
    page = desk.get("/helpdesk/?sort=state&can_reset=yes").content.decode()
    assert "2 users" in page and "shorter list" not in page
    assert re.findall(r'href="/helpdesk/users/\d+/">([^<]+)</a>', page) == ["cid", "ann"]


def test_the_admin_user_list_counts_up_to_the_bound(admin_client, people, monkeypatch):
    from sspr_site.paging import BoundedPaginator

    monkeypatch.setattr(BoundedPaginator, "bound", 3)
    page = admin_client.get("/admin/auth/user/").content.decode()
    assert "More than 3 users: search or filter to see the others." in page
    page = admin_client.get("/admin/auth/user/?q=ann").content.decode()
    assert "1 user" in page and "1 result" in page and "More than" not in page
    page = admin_client.get("/admin/auth/user/?q=example").content.decode()
    assert "More than 3 results" in page


def test_pages_cost_the_same_queries_for_more_users(desk, people, make_user):
    def count(path):
        with CaptureQueriesContext(connection) as queries:
            assert desk.get(path).status_code == 200
        return len(queries)

    paths = ["/helpdesk/", f"/helpdesk/users/{people['ann'].pk}/", "/helpdesk/report/"]
    before = [count(path) for path in paths]
    now = timezone.now()
    for index in range(25):
        user = make_user(f"extra{index}", password=None)
        AuthenticationPhone.objects.create(user=user, number="+447400123456", verified_at=now)
        Registration.objects.create(user=user, completed_at=now, last_confirmed_at=now)
    assert [count(path) for path in paths] == before


def test_user_page_explains_why_and_shows_recent_events(desk, people):
    Event.objects.create(
        kind=EventKind.METHOD_VERIFIED, subject=people["bob"], details={"method": "x"}
    )
    page = desk.get(f"/helpdesk/users/{people['bob'].pk}/").content.decode()
    assert "0 of the 1 method a reset needs verified" in page
    assert "Security questions alone are not enough" in page
    assert "Method verified" in page
    page = desk.get(f"/helpdesk/users/{people['ann'].pk}/").content.decode()
    assert "The 1 method a reset needs is verified." in page
    assert "Verify a caller" in page


def test_the_user_page_says_when_the_password_was_last_set_here(desk, people):
    """Django's own accounts keep no date of their last password: the page says when the site
    last reset or changed it, or that it has none on record, never 'not known' after a reset."""
    page = desk.get(f"/helpdesk/users/{people['ann'].pk}/").content.decode()
    assert "Password last reset or changed here</dt><dd>Not on record" in page
    when = timezone.now() - timedelta(days=3)
    with time_machine.travel(when, tick=False):
        Event.objects.create(kind=EventKind.PASSWORD_RESET, subject=people["ann"])
    Event.objects.create(kind=EventKind.METHOD_VERIFIED, subject=people["ann"])
    page = desk.get(f"/helpdesk/users/{people['ann'].pk}/").content.decode()
    shown = re.search(r"Password last reset or changed here</dt><dd>([^<]+)</dd>", page)
    assert shown and shown.group(1) == date_format(timezone.localtime(when), "DATETIME_FORMAT")
    assert "Not known" not in page


def test_helpdesk_pages_change_nothing(desk, people):
    before = (Registration.objects.count(), AuthenticationPhone.objects.count())
    for path in URLS + [f"/helpdesk/users/{people['ann'].pk}/"]:
        assert desk.post(path).status_code == 405
    assert (Registration.objects.count(), AuthenticationPhone.objects.count()) == before


def test_report_counts_match_known_events(desk, people):
    now = timezone.now()
    for _ in range(3):
        Event.objects.create(kind=EventKind.REGISTRATION_COMPLETED, subject=people["ann"])
    Event.objects.create(kind=EventKind.PASSWORD_RESET, subject=people["ann"])
    Event.objects.create(kind=EventKind.ACCOUNT_UNLOCKED, subject=people["ann"])
    Event.objects.create(
        kind=EventKind.RESET_METHOD_FAILED,
        subject=people["ann"],
        details={"reason": "wrong_answers"},
    )
    # A method passed as a proof before a change of methods is not a reset's.
    for purpose in ({}, {"purpose": "proof"}, {"purpose": "proof"}):
        Event.objects.create(
            kind=EventKind.RESET_METHOD_PASSED,
            subject=people["ann"],
            details={"method": "authenticator_app", **purpose},
        )
    Event.objects.create(
        kind=EventKind.RESET_METHOD_FAILED,
        subject=people["ann"],
        details={"reason": "wrong_answers", "purpose": "proof"},
    )
    # Written ten days ago (the audit log cannot be changed afterwards).
    with time_machine.travel(now - timedelta(days=10), tick=False):
        Event.objects.create(kind=EventKind.PASSWORD_RESET, subject=people["ann"])
    page = desk.get("/helpdesk/report/?days=7").content.decode()
    assert re.search(r"<dt>Registration completed</dt><dd>3<", page)
    assert re.search(r"<dt>Password reset</dt><dd>1<", page)
    # In words, not "wrong_answers"; the number in the cell beside it.
    assert re.search(r"Wrong answers</th><td class=\"number\">1<", page)
    assert re.search(r"Authenticator app</th><td class=\"number\">1<", page)
    assert "<svg" in page and 'role="img"' in page
    assert "2 registered, 2 not registered." in page
    page30 = desk.get("/helpdesk/report/?days=30").content.decode()
    assert re.search(r"<dt>Password reset</dt><dd>2<", page30)


def test_verify_a_caller_with_a_code(desk, people, phone_outbox):
    ann = people["ann"]
    page = desk.get(f"/helpdesk/users/{ann.pk}/verify/").content.decode()
    assert "Authentication phone (text message)" in page and "7400" not in page
    response = desk.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "phone"})
    assert response["Location"] == f"/helpdesk/users/{ann.pk}/verify/code/"
    code = last_phone_code()
    # The text says who the code is for; it does not tell the caller never to share it.
    text = phone_outbox[-1].text
    assert "helpdesk agent you are speaking to" in text and "Never share" not in text
    assert "Never ask for a password" in desk.get(response["Location"]).content.decode()
    wrong = "000000" if code != "000000" else "111111"
    page = desk.post(f"/helpdesk/users/{ann.pk}/verify/code/", {"code": wrong}).content.decode()
    assert "Not verified." in page and code not in page
    page = desk.post(f"/helpdesk/users/{ann.pk}/verify/code/", {"code": code}).content.decode()
    assert "Verified." in page
    outcomes = Event.objects.filter(kind=EventKind.HELPDESK_CHECK).order_by("pk")
    assert [e.details["outcome"] for e in outcomes] == ["not_verified", "verified"]
    assert all(e.actor.username == "agent" for e in outcomes)


def test_the_only_way_to_check_a_caller_is_chosen_already(desk, make_user):
    """One method to check with: it is chosen on arrival, so "Continue" goes on at once (it
    was unchosen, and the first press was refused with "Choose how to check the caller")."""
    dee = make_user("dee", password=None)
    AuthenticationEmail.objects.create(
        user=dee, email="dee.home@example.net", verified_at=timezone.now()
    )
    page = desk.get(f"/helpdesk/users/{dee.pk}/verify/").content.decode()
    radios = re.findall(r"<input[^>]*type=\"radio\"[^>]*>", page)
    assert len(radios) == 1 and "checked" in radios[0]
    assert ">Continue</button>" in page


def test_a_right_code_typed_during_the_backoff_is_not_called_wrong(
    desk, people, phone_outbox, settings
):
    """Too soon after a wrong code the next one is not checked: the agent is told to ask again
    in a few seconds, not that a genuine caller failed, and no failed check is recorded."""
    settings.SSPR_CODE_THROTTLE_FACTOR = 30
    ann = people["ann"]
    desk.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "phone"})
    code = last_phone_code()
    wrong = "000000" if code != "000000" else "111111"
    assert (
        "Not verified."
        in desk.post(f"/helpdesk/users/{ann.pk}/verify/code/", {"code": wrong}).content.decode()
    )
    page = desk.post(f"/helpdesk/users/{ann.pk}/verify/code/", {"code": code}).content.decode()
    assert "Not verified." not in page and "Verified." not in page
    assert "so it was not checked. Enter the code again in" in page
    outcomes = Event.objects.filter(kind=EventKind.HELPDESK_CHECK)
    assert [e.details["outcome"] for e in outcomes] == ["not_verified"]
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        page = desk.post(f"/helpdesk/users/{ann.pk}/verify/code/", {"code": code})
        assert "Verified." in page.content.decode()


def test_verify_by_email_and_the_code_is_bound_to_the_helpdesk_session(desk, people, make_user):
    ann = people["ann"]
    desk.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "email"})
    code = last_email_code()
    other_agent = make_user("agent2", password=None)
    other_agent.groups.add(Group.objects.get(name="Helpdesk"))
    other = past_sign_in_check(Client(), other_agent)
    session = other.session
    session[f"sspr_helpdesk_check_{ann.pk}"] = "email"
    session.save()
    page = other.post(f"/helpdesk/users/{ann.pk}/verify/code/", {"code": code}).content.decode()
    assert "Not verified." in page
    page = desk.post(f"/helpdesk/users/{ann.pk}/verify/code/", {"code": code}).content.decode()
    assert "Verified." in page


def test_verify_is_rate_limited(desk, people, settings, phone_outbox, make_user):
    ann = people["ann"]
    with time_machine.travel(timezone.now(), tick=False):
        assert (
            desk.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "phone"}).status_code == 302
        )
        code = last_phone_code()
        # Another agent within the 30 seconds is told to wait: that code verifies only in the
        # session that asked for it, so theirs would not be checked.
        other_agent = make_user("agent2", password=None)
        other_agent.groups.add(Group.objects.get(name="Helpdesk"))
        other = past_sign_in_check(Client(), other_agent)
        refused = other.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "phone"})
        assert refused.status_code == 429
        assert (
            "A code was sent to this person a moment ago. A new one can be sent in 30 seconds."
            in (refused.content.decode())
        )
        # Within the 30-second wait no second code goes: the agent is led to the live one's page,
        # told when a new one can go, and that code still verifies.
        again = desk.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "phone"}, follow=True)
        assert again.redirect_chain == [(f"/helpdesk/users/{ann.pk}/verify/code/", 302)]
        page = again.content.decode()
        assert "A code was sent a moment ago: ask the caller to read it back." in page
        assert "A new one can be sent in 30 seconds." in page
    assert len(phone_outbox) == 1
    page = desk.post(f"/helpdesk/users/{ann.pk}/verify/code/", {"code": code}).content.decode()
    assert "Verified." in page
    settings.SSPR_CODE_RESEND_SECONDS = 0
    settings.SSPR_SEND_LIMITS = {"user": 2}
    desk.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "phone"})
    limited = desk.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "phone"})
    assert limited.status_code == 429
    assert "Too many codes were sent to this person in the last hour" in limited.content.decode()


def test_verify_needs_a_registered_method(desk, people):
    bob = people["bob"]
    page = desk.get(f"/helpdesk/users/{bob.pk}/").content.decode()
    assert "Verify a caller" not in page
    response = desk.post(f"/helpdesk/users/{bob.pk}/verify/", {"method": "phone"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_csrf_on_verify_posts(people, make_user):
    agent = make_user("agent3", password=None)
    agent.groups.add(Group.objects.get(name="Helpdesk"))
    client = past_sign_in_check(Client(enforce_csrf_checks=True), agent)
    ann = people["ann"]
    assert client.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "phone"}).status_code == 403
    assert (
        client.post(f"/helpdesk/users/{ann.pk}/verify/code/", {"code": "123456"}).status_code == 403
    )


def test_the_user_page_lists_undelivered_messages_masked(desk, make_user):
    from delivery.models import FailedDelivery

    person = make_user("pat")
    FailedDelivery.objects.create(
        user=person,
        channel="sms",
        purpose="code",
        destination="+44 ••••••••56",
        problem="invalid_number",
        attempts=1,
    )
    page = desk.get(f"/helpdesk/users/{person.pk}/").content.decode()
    assert "Messages that could not be delivered" in page
    assert "+44 ••••••••56" in page and "The number cannot receive messages" in page


def test_the_caller_check_offers_only_methods_the_policy_allows(desk, people, policy):
    """Text and calls both off, the person has a verified phone: no phone option, no error."""
    ann = people["ann"]
    policy.set_option("phone", "sms", False)
    policy.set_option("phone", "voice", False)
    policy.save()
    page = desk.get(f"/helpdesk/users/{ann.pk}/verify/")
    assert page.status_code == 200
    assert "Authentication phone" not in page.content.decode()
    response = desk.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "phone"})
    assert response.status_code == 200  # refused as an invalid choice, not a server error
    policy.set_option("phone", "voice", True)
    policy.save()
    assert (
        "Authentication phone (voice call)"
        in desk.get(f"/helpdesk/users/{ann.pk}/verify/").content.decode()
    )


def test_the_user_page_says_what_happened_in_words(desk, people):
    ann = people["ann"]
    Event.objects.create(
        kind=EventKind.CODE_FAILED,
        subject=ann,
        details={"method": "authentication_email", "purpose": "reset", "reason": "throttled"},
    )
    page = desk.get(f"/helpdesk/users/{ann.pk}/").content.decode()
    # In one order on every database (PostgreSQL keeps JSON keys in its own order).
    assert (
        "Method: Authentication email; Reason: Typed again too quickly; Purpose: Password reset"
        in page
    )
    for internal in ("authentication_email", "throttled", "purpose:"):
        assert internal not in page
    # In German the purpose names the service, not a reset that happened; Arabic separates the
    # details with its own semicolon.
    desk.cookies["django_language"] = "de"
    german = desk.get(f"/helpdesk/users/{ann.pk}/").content.decode()
    assert "Zweck: Zurücksetzen des Passworts" in german
    desk.cookies["django_language"] = "ar"
    arabic = desk.get(f"/helpdesk/users/{ann.pk}/").content.decode()
    assert "؛ " in arabic and "; " not in arabic.split('class="wraps details"')[1][:400]


def test_a_pass_issued_reads_in_words_on_the_user_page(desk, people):
    ann = people["ann"]
    Event.objects.create(
        kind=EventKind.ACCESS_PASS_ISSUED,
        subject=ann,
        details={
            "pass_id": 3,
            "verification": "in_person",
            "lifetime_minutes": 60,
            "single_use": True,
            "approved_by": None,
        },
    )
    page = desk.get(f"/helpdesk/users/{ann.pk}/").content.decode()
    assert "How the person was verified: Identity checked in person" in page
    assert "Single use: yes" in page and "Approved by: —" in page
    for internal in ("pass_id", "lifetime_minutes", "in_person", "approved_by", "None"):
        assert internal not in page


def test_every_detail_an_event_records_is_named_in_words(desk, people):
    """Each key any part of the site records with an event has a label on the user page, and
    the account store and the sign-in route read as words, not internal names."""
    import ast
    from pathlib import Path

    from helpdesk.words import KEYS

    root = Path(__file__).resolve().parents[2]
    recorded = {"fields"}  # the contact import writes its rows' details itself
    for path in root.glob("*/**/*.py"):
        if {".venv", "tests", "migrations", "benchmarks"} & set(path.relative_to(root).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record":
                recorded.update(k.arg for k in node.keywords if k.arg)
    recorded -= {"request", "actor", "subject", "ip"}
    assert recorded and not recorded - set(KEYS), recorded - set(KEYS)

    ann = people["ann"]
    Event.objects.create(
        kind=EventKind.ACCESS_PASS_USED,
        subject=ann,
        details={"pass_id": 3, "via": "access_pass", "store": "openldap"},
    )
    Event.objects.create(
        kind=EventKind.CONTACT_IMPORTED, subject=ann, details={"fields": ["office_phone"]}
    )
    page = desk.get(f"/helpdesk/users/{ann.pk}/").content.decode()
    assert "Signed in with: Temporary access pass" in page
    assert "Accounts kept in: The directory (OpenLDAP)" in page
    assert "Fields: " in page
    for internal in ("via:", "store:", "fields:", "openldap", "access_pass"):
        assert internal not in page


def test_the_trend_keeps_a_registration_on_the_days_it_stood(desk, make_user):
    """Registered four days ago, lapsed yesterday, registered again today: counted from the
    fourth day back, not yesterday, once a day; another, registered long ago, every day."""

    def trend_numbers() -> list[str]:
        page = desk.get("/helpdesk/report/?days=7").content.decode()
        trend = page.split('id="trend-heading"')[1].split("</details>")[0]
        return re.findall(r'<td class="number">(\d+)</td>', trend)

    now = timezone.now()
    old_hand = make_user("old", password=None)
    Registration.objects.create(user=old_hand, completed_at=now - timedelta(days=90))
    person = make_user("dee", password=None)
    Registration.objects.create(user=person, completed_at=now)
    for days_ago, kind in [
        (4, EventKind.REGISTRATION_COMPLETED),
        (1, EventKind.REGISTRATION_LAPSED),
        (0, EventKind.REGISTRATION_COMPLETED),
    ]:
        # Written on their day (audit events cannot be changed afterwards: on PostgreSQL a
        # trigger refuses it).
        with time_machine.travel(now - timedelta(days=days_ago), tick=False):
            Event.objects.create(kind=kind, subject=person)
    assert trend_numbers() == ["1", "1", "2", "2", "2", "1", "2"]
    # Lapsed again now: today reads one, the days it stood still read two.
    Registration.objects.filter(user=person).update(completed_at=None)
    Event.objects.create(kind=EventKind.REGISTRATION_LAPSED, subject=person)
    assert trend_numbers() == ["1", "1", "2", "2", "2", "1", "1"]


def test_a_search_longer_than_the_bound_is_shortened_and_says_so(desk, people):
    page = desk.get("/helpdesk/", {"q": "ann" + "x" * 200}).content.decode()
    assert "Only the first 100 characters of the search were used." in page
    assert "Only the first" not in desk.get("/helpdesk/", {"q": "ann"}).content.decode()


def test_report_charts_scale_stay_legible_and_give_their_numbers(desk, people):
    for person in (people["ann"], people["cid"]):
        Event.objects.create(kind=EventKind.REGISTRATION_COMPLETED, subject=person)
    page = desk.get("/helpdesk/report/?days=30").content.decode()
    charts = page.split("<svg")[1:]
    # As wide as their column (no fixed drawing scaled down with its text), each with a name.
    assert charts and all('width="100%"' in chart.split(">")[0] for chart in charts)
    assert all('role="img"' in chart.split(">")[0] for chart in charts)
    resets = page.split('id="resets-heading"')[1].split("</details>")[0]
    assert "None in this period." in resets and "<svg" not in resets  # nothing to draw
    trend = page.split('id="trend-heading"')[1].split("</details>")[0]
    # 30 days: a date under the axis once a week, ending today, not thirty overlapping ones.
    assert trend.count('class="tick"') == 5
    assert timezone.localdate().strftime("%-d %b") in trend.split('class="tick"')[-1]
    # The count axis is labelled with round numbers up to the highest bar.
    assert re.search(r'class="y-ticks"[^>]*><li>2</li><li>1</li><li>0</li></ul>', trend)
    assert "of 4 in scope" in page
    # The numbers behind each chart, as a table (for screen readers and for copying).
    assert trend.count("<tr><td>") == 30
    # Two people registered today (people fixture): the trend rises to them on the last day.
    rows = trend.split("<tr><td>")[1:]
    assert '<td class="number">0</td>' in rows[0] and '<td class="number">2</td>' in rows[-1]
    # The drawing reads a decimal point, whatever the language of the page.
    desk.cookies["django_language"] = "de"
    german = desk.get("/helpdesk/report/?days=30").content.decode()
    geometry = re.findall(r'<rect x="([^"]+)" y="[^"]+" width="([^"]+)"', german)
    assert geometry and all("," not in x + width for x, width in geometry)


BUILT_IN = ("phone", "email", "authenticator", "passkey", "questions", "office")


def test_export_holds_what_the_status_rows_show(desk, people, policy):
    """The export reads plain values, not user objects: every cell is what the helpdesk's own
    row for that user shows."""
    from helpdesk.status import Row, directory
    from helpdesk.views import cell, phone_cell
    from methods.registry import REGISTRY

    body = b"".join(desk.get("/helpdesk/export.csv").streaming_content).decode("utf-8-sig")
    exported = list(csv.reader(io.StringIO(body)))[1:]
    expected = []
    from methods.reset_rule import ResetRule

    for user in directory(policy):
        row = Row.of(user, ResetRule.of(policy))
        shown = {key: masked for key, _label, masked in row.methods}
        expected.append(
            [
                phone_cell(value) if index in (4, 9) else cell(value)
                for index, value in enumerate(
                    (
                        row.username,
                        row.name,
                        row.state,
                        "yes" if row.can_reset else "no",
                        shown.get("phone", ""),
                        shown.get("email", ""),
                        shown.get("authenticator", ""),
                        user.sspr_passkey_count,
                        user.sspr_answers,
                        shown.get("office", ""),
                        # Methods added since (methods/registry.py): each its own column.
                        *[
                            method.export_value({f: getattr(user, f) for f in method.many_fields})
                            for key, method in REGISTRY.items()
                            if key not in BUILT_IN
                        ],
                        row.completed_at.isoformat() if row.completed_at else "",
                        row.confirmed_at.isoformat() if row.confirmed_at else "",
                    )
                )
            ]
        )
    assert exported == expected
    assert list(REGISTRY)[: len(BUILT_IN)] == list(BUILT_IN)
    assert any(row[9] for row in exported) and any(row[4] for row in exported)


@pytest.mark.postgres
def test_the_search_reads_its_indexes_on_postgresql(desk, people):
    # The migration named them; the planner uses them once the table is large (benchmarks).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'sspr_user_%%_search'"
        )
        names = sorted(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM auth_user WHERE UPPER(last_name::text) LIKE UPPER(%s)",
            ["%rche%"],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert names == [
        f"sspr_user_{field}_search" for field in ("email", "first_name", "last_name", "username")
    ]
    assert "sspr_user_last_name_search" in plan
    page = desk.get("/helpdesk/?q=rche").content.decode()
    assert re.findall(r'href="/helpdesk/users/\d+/">([^<]+)</a>', page) == ["ann"]


def test_report_bars_stand_on_a_round_axis_and_the_share_is_one_bar():
    """Bars are drawn to the axis's top tick; the registered and the not registered are two
    parts of one bar, each as wide as its share (not an empty box beside a filled one)."""
    from datetime import date

    from helpdesk.report import PLOT_HEIGHT, bar_chart, nice_ticks, share

    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(2) == [0, 1, 2]
    assert nice_ticks(15) == [0, 5, 10, 15]
    assert nice_ticks(18) == [0, 5, 10, 15, 20]
    assert nice_ticks(1234) == [0, 500, 1000, 1500]
    chart = bar_chart([(date(2026, 1, day), value) for day, value in ((1, 10), (2, 20), (3, 0))])
    assert chart["ticks"] == [20, 15, 10, 5, 0]
    assert [bar["height"] for bar in chart["bars"]] == [PLOT_HEIGHT // 2, PLOT_HEIGHT, 0]
    assert all(bar["labelled"] for bar in chart["bars"])  # a short series: every day named
    one_day = bar_chart([(date(2026, 1, 1), 3)])
    assert float(one_day["bars"][0]["width"].rstrip("%")) <= 8  # a bar, not a slab
    parts = share(15, 10)
    assert (parts["registered_width"], parts["not_registered_width"]) == ("60.000%", "40.000%")
    assert parts["not_registered_x"] == parts["registered_width"]
    assert (parts["registered_percent"], parts["not_registered_percent"]) == (60, 40)
    assert share(0, 0)["empty"] and not share(1, 0)["empty"]


def test_the_caller_check_prompt_says_where_the_code_comes_from(desk, people, policy):
    """An app's code is read from the app; a sent code from the message. Neither page says
    "we sent you": the agent reads the prompt, not the code's owner."""
    from methods.authenticator.method import confirmed_devices

    policy.set_option("authenticator", "enabled", True)
    policy.save()
    ann = people["ann"]
    confirmed_devices(ann.pk).model.objects.create(user=ann, name="app", confirmed=True)
    desk.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "authenticator"})
    page = desk.get(f"/helpdesk/users/{ann.pk}/verify/code/").content.decode()
    assert "The 6 digits the caller's app shows now." in page
    assert "we sent" not in page
    # The prompt is the code box's description, for screen readers too.
    assert re.search(r'aria-describedby="id_code_helptext"', page)
    desk.post(f"/helpdesk/users/{ann.pk}/verify/", {"method": "phone"})
    page = desk.get(f"/helpdesk/users/{ann.pk}/verify/code/").content.decode()
    assert "The 6 digits the caller reads from the message we sent." in page
    assert "we sent you" not in page


def test_every_reason_the_site_records_is_said_in_words():
    """The helpdesk's history reads "Reason: Used before", never an internal value such as
    "in_history": every reason recorded anywhere in the code, and every refusal of the account
    store, has its words."""
    import pathlib

    from directory.accounts import REFUSALS
    from helpdesk.words import WORDS

    root = pathlib.Path(__file__).resolve().parents[2]
    recorded = set()
    apps = [p for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    for path in (file for app in apps if app.name != "tests" for file in app.rglob("*.py")):
        recorded |= set(re.findall(r'\breason="([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert "account_disabled" in recorded and "address_limited" in recorded
    missing = sorted((recorded | set(REFUSALS)) - set(WORDS))
    assert missing == []


def test_the_paused_list_names_only_people_the_helpdesk_may_see(helpdesk_client, make_user, policy):
    """A pause outlives a change of the policy's scope: its person, out of sight (their page
    answers 404), is not named above the list either."""
    from methods.models import BlockReason, SelfServiceBlock
    from policy.models import Scope

    inside, outside = make_user("insider", password=None), make_user("ceo-private", password=None)
    group = Group.objects.create(name="pilot")
    inside.groups.add(group)
    for person in (inside, outside):
        SelfServiceBlock.objects.create(user=person, reason=BlockReason.NOT_ME)
    policy.scope, policy.scope_group = Scope.GROUP, group
    policy.save()
    page = helpdesk_client.get("/helpdesk/").content.decode()
    assert "insider" in page and "ceo-private" not in page
    assert helpdesk_client.get(f"/helpdesk/users/{outside.pk}/").status_code == 404


def _fieldset_and_hint(page: str) -> tuple[str, str | None]:
    fieldset = re.search(r"<fieldset([^>]*)>", page).group(1)
    hint = re.search(r'<div class="helptext" id="id_verification_helptext">(.*?)</div>', page, re.S)
    return fieldset, hint.group(1) if hint else None


def test_the_hint_that_no_caller_check_passed_describes_the_choice(helpdesk_client, make_user):
    """A screen reader on the choice of how the caller was verified hears that no check passed
    yet, with the way to one; once it is refused for that, the refusal is what it hears, with
    the way to a check and not the hint again; once a check passed, no hint."""
    rita = make_user("rita")
    AuthenticationPhone.objects.create(
        user=rita, number="+447400123456", verified_at=timezone.now() - timedelta(days=30)
    )
    issue_page = f"/helpdesk/pass/users/{rita.pk}/"
    fieldset, hint = _fieldset_and_hint(helpdesk_client.get(issue_page).content.decode())
    assert 'aria-describedby="id_verification_helptext"' in fieldset
    assert "No caller check passed for this person in your session yet." in hint
    assert f'<a href="/helpdesk/users/{rita.pk}/verify/">Verify the caller first</a>' in hint

    refused = helpdesk_client.post(
        issue_page, {"verification": "caller_check", "note": "Asked for her badge"}
    ).content.decode()
    fieldset, hint = _fieldset_and_hint(refused)
    assert 'aria-describedby="id_verification_helptext id_verification_error"' in fieldset
    assert "in your session in the last 15 minutes" in refused
    # Not said twice: only the way to a check is left beside the refusal.
    assert hint == f'<a href="/helpdesk/users/{rita.pk}/verify/">Verify the caller first</a>'

    # No choice made: the refusal does not say whether a check passed, so the hint stays.
    blank = helpdesk_client.post(issue_page, {"verification": "", "note": "x"}).content.decode()
    assert "Choose how you verified the person." in blank
    assert "in your session yet" in _fieldset_and_hint(blank)[1]
    # Refused for the note alone: the hint stays, describing the choice.
    refused = helpdesk_client.post(issue_page, {"verification": "in_person", "note": ""})
    fieldset, hint = _fieldset_and_hint(refused.content.decode())
    assert "Write a note about how you verified the person." in refused.content.decode()
    assert 'aria-describedby="id_verification_helptext"' in fieldset
    assert "No caller check passed for this person in your session yet." in hint

    verify = f"/helpdesk/users/{rita.pk}/verify/"
    helpdesk_client.post(verify, {"method": "phone"})
    helpdesk_client.post(f"{verify}code/", {"code": last_phone_code()})
    fieldset, hint = _fieldset_and_hint(helpdesk_client.get(issue_page).content.decode())
    assert hint is None and "aria-describedby" not in fieldset
