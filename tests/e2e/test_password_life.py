"""The helpdesk's list of directory passwords in Chromium (the README's "Directory"): an agent
sees who has expired, must change, expires soon or is locked, addresses masked; sorts,
filters and exports; axe-clean in English at 1280 px and German at 390 px, no sideways
scrolling on the phone."""

from __future__ import annotations

import datetime

import pytest

from directory.servers import DEMO_PEOPLE, EXPIRING_POLICY_DN, NO_GRACE_POLICY_DN, Person
from tests.directory.test_password_life import EVE, NED, NEW, expire, must_change, set_changed
from tests.support.browser import check_accessibility, fits_without_horizontal_scroll
from tests.support.directory import lock_out

pytestmark = [pytest.mark.browser, pytest.mark.directory, pytest.mark.django_db(transaction=True)]

# A long name and address, to see the list hold together on a phone.
MAX = Person(
    "maximilian.oberhofer",
    "Max-Directory-2026",
    "Maximilian-Alexander",
    "Oberhofer-Wittgenstein",
    "maximilian.oberhofer-wittgenstein@verwaltung.example.org",
    policy=NO_GRACE_POLICY_DN,
)
PEOPLE_SHOWN = ["eve", "grace", "maximilian.oberhofer", "ned", "nia"]


@pytest.fixture
def slapd_people():
    return (*DEMO_PEOPLE, EVE, NED, NEW, MAX)


@pytest.fixture
def states(slapd, directory):
    """Eve expires in 5 days, Max in 2, Ned has expired, Nia must change, Grace is locked."""
    from django.core.cache import cache

    from directory.servers import MAX_AGE_DAYS

    assert EVE.policy == EXPIRING_POLICY_DN
    now = datetime.datetime.now(datetime.UTC)
    set_changed(slapd, EVE.uid, now - datetime.timedelta(days=MAX_AGE_DAYS - 5))
    set_changed(slapd, MAX.uid, now - datetime.timedelta(days=MAX_AGE_DAYS - 2))
    expire(slapd, NED.uid)
    must_change(slapd, NEW.uid)
    lock_out(slapd, "grace")
    cache.clear()


@pytest.fixture
def agent_at(browser, live_server, make_user, approved_questions):
    """A browser page signed in as a helpdesk agent, in a language and at a width. The group
    and its permission are made again: a transactional test empties them."""
    from django.contrib.auth.models import Group, Permission
    from django.test import Client

    from tests.support.people import past_sign_in_check

    agent = make_user("agent", password=None)
    agent.groups.add(Group.objects.get_or_create(name="Helpdesk")[0])
    agent.user_permissions.add(Permission.objects.get(codename="use_helpdesk"))
    client = past_sign_in_check(Client(), agent)
    contexts = []

    def open_at(language: str, width: int):
        context = browser.new_context(
            base_url=live_server.url,
            extra_http_headers={"Accept-Language": language},
            viewport={"width": width, "height": 900},
            accept_downloads=True,
        )
        context.add_cookies(
            [
                {"name": name, "value": morsel.value, "url": live_server.url}
                for name, morsel in client.cookies.items()
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield open_at
    for context in contexts:
        context.close()


def usernames(page) -> list[str]:
    return [cell.strip() for cell in page.locator("main tbody td.whole").all_inner_texts()]


def row_of(page, username: str):
    return page.locator("main tbody tr").filter(has=page.locator("td.whole", has_text=username))


@pytest.mark.parametrize(
    ("language", "width", "words"),
    [
        ("en", 1280, {"heading": "Directory passwords", "expired": "Expired"}),
        ("de", 390, {"heading": "Verzeichnispasswörter", "expired": "Abgelaufen"}),
    ],
)
def test_an_agent_reads_sorts_filters_and_exports_the_list(
    states, agent_at, tmp_path, language, width, words
):
    page = agent_at(language, width)
    page.goto("/helpdesk/passwords/")
    assert page.locator("html").get_attribute("lang") == language
    page.get_by_role("heading", level=1, name=words["heading"]).wait_for()
    assert sorted(usernames(page)) == PEOPLE_SHOWN
    # The expired and the must-change person, each address masked as on every helpdesk list.
    ned, nia = row_of(page, "ned"), row_of(page, "nia")
    assert words["expired"] in ned.inner_text()
    assert "n•••@example.org" in ned.inner_text() and "n•••@example.org" in nia.inner_text()
    assert "m•••@verwaltung.example.org" in row_of(page, MAX.uid).inner_text()
    content = page.content()
    for person in (EVE, NED, NEW, MAX):
        assert person.mail not in content
    assert fits_without_horizontal_scroll(page)
    check_accessibility(page, f"40-passwords-{language}-{width}")

    # Sorting by username, then the other way (at 390 px the headers are a line of links).
    page.locator("main thead a[href*='sort=username']").click()
    page.wait_for_url("**sort=username*")
    assert usernames(page) == PEOPLE_SHOWN
    page.locator("main thead a[href*='sort=-username']").click()
    page.wait_for_url("**sort=-username*")
    assert usernames(page) == PEOPLE_SHOWN[::-1]

    # "Expires within": 3 days is Max alone, 7 days Eve too, soonest first.
    page.locator("#id_state").select_option("expiring")
    page.locator("#id_days").fill("3")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**days=3*")
    assert usernames(page) == [MAX.uid]
    page.locator("#id_days").fill("7")
    page.locator("main input[name=sort]").evaluate("(input) => { input.value = 'expires'; }")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**days=7*")
    assert usernames(page) == [MAX.uid, "eve"]
    assert fits_without_horizontal_scroll(page)
    check_accessibility(page, f"41-passwords-expiring-{language}-{width}")

    # The export: what the page shows, with the byte order mark spreadsheets need, masked.
    with page.expect_download() as waiting:
        page.locator("form.filters a[href*='export.csv']").click()
    saved = tmp_path / "passwords.csv"
    waiting.value.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").strip().splitlines()
    assert lines[0] == "username,name,email,expires_at,state"
    assert [line.split(",")[0] for line in lines[1:]] == [MAX.uid, "eve"]
    assert "m•••@verwaltung.example.org" in lines[1] and "e•••@example.org" in lines[2]
    assert MAX.mail not in lines[1] and EVE.mail not in lines[2]
