"""A person's history at the helpdesk, in Chromium: from their page to every event, a page at a
time, by keyboard; each page passes axe at 1280 and 390 pixels without scrolling sideways."""

from __future__ import annotations

import pytest

from audit.models import Event, EventKind
from tests.e2e.test_access_pass import check_both_widths, signed_in_page
from tests.support.access_passes import helpdesk_group

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_reads_a_persons_whole_history(browser, live_server, make_user):
    agent = make_user("agent", password=None)
    agent.groups.add(helpdesk_group())
    person = make_user("nina")
    Event.objects.bulk_create(
        Event(kind=EventKind.METHOD_VERIFIED, subject=person, details={"method": f"m{n:02d}"})
        for n in range(70)
    )

    desk = signed_in_page(browser, live_server, agent)
    desk.goto(f"/helpdesk/users/{person.pk}/")
    assert desk.locator("#events-heading + .table-wrap tbody tr").count() == 20
    all_events = desk.get_by_role("link", name="All events")
    all_events.focus()
    desk.keyboard.press("Enter")
    desk.get_by_role("heading", name="Events of nina").wait_for()
    assert desk.locator("tbody tr").count() == 50
    check_both_widths(desk, "50-helpdesk-events")
    pages = desk.get_by_role("navigation", name="Pages")
    pages.get_by_role("link", name="Older events").focus()
    desk.keyboard.press("Enter")
    desk.get_by_role("link", name="Newest events").wait_for()
    assert desk.locator("tbody tr").count() == 20
    assert pages.get_by_role("link", name="Older events").count() == 0
    check_both_widths(desk, "51-helpdesk-older-events")
    desk.get_by_role("link", name="Back to the user").click()
    desk.get_by_role("heading", name="nina").wait_for()
    desk.context.close()
