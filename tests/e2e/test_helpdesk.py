"""The helpdesk pages in Chromium: readable, accessible, and the caller check."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from methods.models import AuthenticationPhone
from registration.models import Registration
from tests.support.browser import check_accessibility, fits_without_horizontal_scroll
from tests.support.codes import latest_phone_code
from tests.support.people import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_helpdesk_reads_status_and_verifies_a_caller(page, make_user, outboxes):
    phone_dir, _mail_dir = outboxes
    agent = make_user("agent")
    agent.groups.add(Group.objects.get_or_create(name="Helpdesk")[0])
    from django.contrib.auth.models import Permission

    agent.user_permissions.add(Permission.objects.get(codename="use_helpdesk"))
    caller = make_user("caller")
    now = timezone.now()
    AuthenticationPhone.objects.create(user=caller, number="+447400123456", verified_at=now)
    Registration.objects.create(user=caller, completed_at=now, last_confirmed_at=now)

    page.goto("/ssprsetup/signin/?next=/helpdesk/")
    page.get_by_label("Username").fill("agent")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Not registered yet: asked to register first, postponed once, then where it was heading.
    page.get_by_role("heading", name="Please register before you continue").wait_for()
    page.get_by_role("button", name="Not now").click()
    page.get_by_role("heading", name="Registration status").wait_for()
    assert page.get_by_text("+44 ••••••••56").is_visible()
    check_accessibility(page, "30-helpdesk-status")
    page.get_by_role("link", name="caller").click()
    page.get_by_role("heading", name="caller").wait_for()
    check_accessibility(page, "31-helpdesk-user")
    page.get_by_role("link", name="Verify a caller").click()
    page.get_by_label("Authentication phone (text message)").check()
    check_accessibility(page, "32-helpdesk-verify")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Verification code").wait_for()
    # What to ask the caller, and never to ask, is read first: the focus is not moved past it.
    assert page.evaluate("document.activeElement.id") != "id_code"
    page.get_by_label("Verification code").fill(latest_phone_code(phone_dir))
    page.get_by_role("button", name="Check").click()
    page.get_by_role("status").get_by_text("Verified.").wait_for()
    page.goto("/helpdesk/report/?days=30")
    check_accessibility(page, "33-helpdesk-report")
    page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/helpdesk/", "/helpdesk/report/"):
        page.goto(path)
        assert fits_without_horizontal_scroll(page), path


# --- Working at phone width, and the activity report (issue 21) -------------------------------


@pytest.fixture
def desk_at(browser, live_server, make_user, approved_questions):
    """A browser page signed in as a helpdesk agent (past the registration prompt), at a given
    width. The group and its permission are made again: a transactional test empties them."""
    from django.contrib.auth.models import Permission
    from django.test import Client

    from tests.support.people import past_sign_in_check

    agent = make_user("agent", password=None)
    agent.groups.add(Group.objects.get_or_create(name="Helpdesk")[0])
    agent.user_permissions.add(Permission.objects.get(codename="use_helpdesk"))
    helpdesk_client = past_sign_in_check(Client(), agent)
    contexts = []

    def open_at(width: int, height: int = 900):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}
        )
        context.add_cookies(
            [
                {
                    "name": name,
                    "value": morsel.value,
                    "url": live_server.url,
                }
                for name, morsel in helpdesk_client.cookies.items()
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield open_at
    for context in contexts:
        context.close()


@pytest.fixture
def busy_month(make_user):
    """A month of activity: people registering over the days, resets, unlocks and failures."""
    from datetime import timedelta

    import time_machine

    from audit.models import Event, EventKind

    now = timezone.now()
    people = []
    for index in range(24):
        person = make_user(f"person{index:02d}", password=None, last_name="Example-Longname")
        people.append(person)
    for index, person in enumerate(people[:15]):
        when = now - timedelta(days=(index * 2) % 28, hours=1)
        AuthenticationPhone.objects.create(
            user=person, number=f"+4474001234{index:02d}", verified_at=when
        )
        Registration.objects.create(user=person, completed_at=when, last_confirmed_at=when)
        with time_machine.travel(when, tick=False):
            Event.objects.create(kind=EventKind.REGISTRATION_COMPLETED, subject=person)
            Event.objects.create(
                kind=EventKind.METHOD_VERIFIED,
                subject=person,
                details={"method": "authentication_phone"},
            )
    for index in range(18):
        when = now - timedelta(days=(index * 5) % 29, hours=2)
        kind = EventKind.PASSWORD_RESET if index % 3 else EventKind.ACCOUNT_UNLOCKED
        with time_machine.travel(when, tick=False):
            Event.objects.create(kind=EventKind.RESET_STARTED, subject=people[index])
            Event.objects.create(kind=kind, subject=people[index])
            Event.objects.create(
                kind=EventKind.RESET_METHOD_PASSED,
                subject=people[index],
                details={"method": "authentication_phone"},
            )
            if index % 4 == 0:
                Event.objects.create(
                    kind=EventKind.RESET_METHOD_FAILED,
                    subject=people[index],
                    details={"reason": "wrong_answers"},
                )
                Event.objects.create(
                    kind=EventKind.CODE_FAILED,
                    subject=people[index],
                    details={"method": "authentication_phone", "reason": "wrong"},
                )
    return people


CELLS_ON_SCREEN = """() => {
    const width = window.innerWidth;
    const off = [];
    for (const cell of document.querySelectorAll("main td")) {
        const box = cell.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;  // an empty cell, not shown
        if (box.left < 0 || box.right > width + 0.5) off.push(cell.textContent.trim());
    }
    return off;
}"""

LABELS = """() => Array.from(document.querySelectorAll("main td[data-label]"))
    .filter((cell) => cell.getBoundingClientRect().height > 0)
    .map((cell) => [cell.dataset.label, getComputedStyle(cell, "::before").content])"""


def test_helpdesk_tables_show_every_column_at_phone_width(desk_at, busy_month):
    """At 390 px each row is a card: every value on the screen beside its column's name (an
    event's card names none but "By": its date, what happened and its "name: value" details
    say what they are), no scrolling sideways, neither the page nor a table."""
    from delivery.models import FailedDelivery

    person = busy_month[0]
    FailedDelivery.objects.create(
        user=person,
        channel="sms",
        purpose="code",
        destination="+44 ••••••••00",
        problem="invalid_number",
        attempts=3,
    )
    page = desk_at(390)
    for name, path in (("status", "/helpdesk/"), ("user", f"/helpdesk/users/{person.pk}/")):
        page.goto(path)
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), path
        assert page.evaluate(CELLS_ON_SCREEN) == [], path
        assert page.evaluate(
            "Array.from(document.querySelectorAll('.table-wrap'))"
            ".every((wrap) => wrap.scrollWidth <= wrap.clientWidth)"
        ), path
        labels = page.evaluate(LABELS)
        assert labels and all(label in content for label, content in labels), path
        check_accessibility(page, f"34-helpdesk-{name}-390")
    page.goto("/helpdesk/")
    # Sorting is still there, as a line of links above the cards.
    page.get_by_role("link", name="Last confirmed").click()
    page.wait_for_url("**sort=confirmed*")
    assert page.get_by_text("+44 ••••••••00").is_visible()
    wide = desk_at(1280)
    for name, path in (("status", "/helpdesk/"), ("user", f"/helpdesk/users/{person.pk}/")):
        wide.goto(path)
        # A real table on a wide screen: the column headers are shown above the values.
        assert wide.get_by_role("columnheader").first.is_visible()
        check_accessibility(wide, f"34-helpdesk-{name}-1280")


def test_the_activity_report_is_sized_to_the_page(desk_at, busy_month):
    """Charts as wide as their column with labelled axes, readable text at 390 px, the totals'
    numbers beside their labels, one bar for registered and not registered, and the numbers
    behind each chart as a table."""
    for width in (1280, 390):
        page = desk_at(width)
        page.goto("/helpdesk/report/?days=7")
        column = page.locator(".report-grid .report-card").first.bounding_box()["width"]
        for chart in page.locator("svg.chart:not(.share)").all():
            assert chart.bounding_box()["width"] >= column * 0.8, width
        # The count axis: round numbers beside the bars, from 0 up.
        assert page.locator(".y-ticks").first.is_visible()
        assert page.locator(".y-ticks").first.inner_text().split() == ["2", "1", "0"]
        assert page.locator(".axis-title", has_text="Registrations").is_visible()
        assert page.locator(".axis-title", has_text="Day").first.is_visible()
        # Text in the charts at its own size, not shrunk with the drawing.
        smallest = page.evaluate(
            "Math.min(...Array.from(document.querySelectorAll('svg.chart text'))"
            ".filter((t) => t.getBoundingClientRect().height > 0)"
            ".map((t) => t.getBoundingClientRect().height))"
        )
        assert smallest >= 11, width
        for stat in page.locator(".stat").all():
            label, number = stat.locator("dt").bounding_box(), stat.locator("dd").bounding_box()
            assert abs(label["x"] - number["x"]) < 40 and abs(label["y"] - number["y"]) < 80
        bars = page.locator("svg.share rect")
        registered, rest = bars.nth(0).bounding_box(), bars.nth(1).bounding_box()
        assert registered["height"] == rest["height"]
        assert abs(registered["width"] / (registered["width"] + rest["width"]) - 15 / 25) < 0.02
        assert page.locator("details.numbers table").count() == 3
        assert fits_without_horizontal_scroll(page), width
        check_accessibility(page, f"35-helpdesk-report-7-{width}")
        page.goto("/helpdesk/report/?days=30")
        assert page.locator("#trend-heading + .plot text.tick").count() == 5
        assert fits_without_horizontal_scroll(page), width
        check_accessibility(page, f"35-helpdesk-report-30-{width}")
