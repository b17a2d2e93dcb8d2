"""Every page in Arabic (right to left) and in the test-only pseudo-locale (README, "Languages").

Arabic: <html dir="rtl">, axe-clean, no sideways scrolling at 1280 and 390 px, and the phone
number and code fields still left to right. The pseudo-locale (tests/support/pseudo_locale.py)
accents and lengthens every string that goes through gettext: a visible text in plain ASCII
letters was never translated, and a box whose text overflows it at 390 px is clipped or
overlaps its neighbour.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from audit.log import record
from audit.models import EventKind
from methods.models import AuthenticationEmail, AuthenticationPhone
from registration.models import Registration
from tests.support import pseudo_locale
from tests.support.browser import (
    ARTIFACTS,
    check_accessibility,
    fits_without_horizontal_scroll,
    prove_if_asked,
    sign_in,
)
from tests.support.codes import last_phone_code

from .test_every_page import ANONYMOUS_PAGES, HELPDESK_PAGES, SIGNED_IN_PAGES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Text that is the person's own data or a name the site does not translate, as it appears.
DATA = re.compile(
    r"(?i)person-with-a-rather-long-username|rita\.home@example\.net|rita|agent|"
    r"[\w.•]*@example\.(?:net|org)|\+\d[\d •]*|tel:|ALTCHA"
)

VISIBLE_TEXT = """() => {
  const texts = [];
  const skipped = (el) => el.closest(
    "script, style, noscript, template, select#language, select#id_region");
  const shown = (el) => {
    const style = getComputedStyle(el);
    return style.display !== "none" && style.visibility !== "hidden"
      && el.getClientRects().length > 0;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, text = node.textContent.trim(), el = node.parentElement;
    if (text && el && !skipped(el) && shown(el)) texts.push(text);
  }
  for (const el of document.querySelectorAll("[aria-label], [placeholder], [title]")) {
    if (skipped(el)) continue;
    for (const name of ["aria-label", "placeholder", "title"]) {
      const value = el.getAttribute(name);
      if (value && value.trim()) texts.push(value.trim());
    }
  }
  texts.push(document.title);
  return texts;
}"""

OVERFLOWING = """() => {
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".visually-hidden, script, style, select, svg, .table-wrap")) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.clientWidth === 0) continue;
    const style = getComputedStyle(el);
    if (style.display === "inline" || ["auto", "scroll"].includes(style.overflowX)) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      const what = el.textContent.trim().slice(0, 60);
      found.push(`${el.tagName.toLowerCase()}.${el.className}: ${what}`);
    }
  }
  return found;
}"""


def untranslated(page) -> list[str]:
    """Visible texts (and accessible names) with a word in plain ASCII letters."""
    return [
        text
        for text in page.evaluate(VISIBLE_TEXT)
        if re.search(r"[A-Za-z]{2,}", DATA.sub("", text))
    ]


def _people(make_user):
    rita = make_user("rita")
    now = timezone.now()
    AuthenticationPhone.objects.create(user=rita, number="+447400123456", verified_at=now)
    AuthenticationEmail.objects.create(user=rita, email="rita.home@example.net", verified_at=now)
    Registration.objects.create(user=rita, completed_at=now, last_confirmed_at=now)
    agent = make_user("agent")
    agent.groups.add(Group.objects.get_or_create(name="Helpdesk")[0])
    agent.user_permissions.add(Permission.objects.get(codename="use_helpdesk"))
    person = make_user("person-with-a-rather-long-username")
    AuthenticationPhone.objects.create(user=person, number="+447400123457", verified_at=now)
    Registration.objects.create(user=person, completed_at=now, last_confirmed_at=now)
    record(EventKind.REGISTRATION_COMPLETED, subject=person, methods=["authentication_phone"])
    return rita, agent, person


def _sweep(browser, live_server, make_user, language: str, widths, check) -> None:
    """Visit every page of tests/e2e/test_every_page.py at each width; check(page, name)."""
    _rita, _agent, person = _people(make_user)
    context = browser.new_context(
        base_url=live_server.url, extra_http_headers={"Accept-Language": language}
    )
    page = context.new_page()
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        for path in ANONYMOUS_PAGES:
            page.goto(path)
            check(page, f"{language}-{width}{path.replace('/', '-')}")
    sign_in(page, "rita")
    page.goto("/ssprsetup/phone/")
    prove_if_asked(page, last_phone_code)
    page.locator("#id_number").fill("+447400654321")
    page.locator("form.stack button[type=submit]").click()
    page.locator("#id_code").wait_for()  # the code page, in the same response
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        for path in SIGNED_IN_PAGES:
            page.goto(path)
            check(page, f"{language}-{width}{path.replace('/', '-')}")
    context.clear_cookies()
    sign_in(page, "agent")
    page.locator("form[action$='/skip/'] button").click()  # postpone the registration prompt
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        for path in HELPDESK_PAGES:
            path = path.format(pk=person.pk)
            page.goto(path)
            check(page, f"{language}-{width}{path.split('?')[0].replace('/', '-')}")
    context.close()


def test_arabic_pages_read_right_to_left_pass_axe_and_fit(browser, live_server, make_user):
    def check(page, name):
        assert page.evaluate("document.documentElement.dir") == "rtl", name
        assert page.evaluate("document.documentElement.lang") == "ar", name
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl", name
        # Phone numbers, full or masked ("+44 ••••••••56"), read "+44" first all the same.
        for shown in page.locator(".destination, .unbroken").all():
            assert shown.evaluate("el => getComputedStyle(el).direction") == "ltr", name
        check_accessibility(page, f"rtl-{name}")
        assert fits_without_horizontal_scroll(page), name

    _sweep(browser, live_server, make_user, "ar", (1280, 390), check)


def test_phone_numbers_and_codes_stay_left_to_right_in_arabic(browser, live_server, make_user):
    make_user("rita")
    context = browser.new_context(
        base_url=live_server.url,
        extra_http_headers={"Accept-Language": "ar"},
        viewport={"width": 390, "height": 900},
    )
    page = context.new_page()
    sign_in(page, "rita")
    page.goto("/ssprsetup/phone/")
    number = page.locator("#id_number")
    # Cancel stands apart from the button on its reading side, as in English.
    gap = page.evaluate(
        """() => { const b = document.querySelector("form.stack > .button");
        const a = b.nextElementSibling; return b.getBoundingClientRect().left
        - a.getBoundingClientRect().right; }"""
    )
    assert gap >= 16, gap
    assert number.get_attribute("dir") == "ltr"
    assert number.evaluate("el => getComputedStyle(el).direction") == "ltr"
    number.fill("+447400654321")
    page.locator("form.stack button[type=submit]").click()
    page.locator("#id_code").wait_for()  # the code page, in the same response
    code = page.locator("#id_code")
    assert code.get_attribute("dir") == "ltr"
    assert code.get_attribute("autocomplete") == "one-time-code"
    check_accessibility(page, "rtl-ar-390-ssprsetup-phone-verify")
    # The number shown back reads +44 first, even inside right-to-left text.
    shown = page.locator(".destination").first
    if shown.count():
        assert shown.evaluate("el => getComputedStyle(el).direction") == "ltr"
    # The page that sends a code to the number shows it whole, on one line, +44 first.
    page.goto("/ssprsetup/phone/send/")
    shown = page.locator("p.lead .destination")
    assert shown.inner_text() == "+44 7400 654321"
    assert shown.evaluate("el => getComputedStyle(el).direction") == "ltr"
    assert shown.evaluate("el => el.getClientRects().length") == 1
    context.close()


def test_the_pseudo_locale_shows_no_untranslated_or_clipped_text(
    browser, live_server, make_user, settings, tmp_path, monkeypatch
):
    code = pseudo_locale.installed(settings, tmp_path, monkeypatch)
    problems: dict[str, list[str]] = {}

    def check(page, name):
        assert page.evaluate("document.documentElement.lang") == code, name
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"pseudo-{name}.png"), full_page=True)
        found = [f"untranslated: {text!r}" for text in untranslated(page)]
        found += [f"overflows: {text}" for text in page.evaluate(OVERFLOWING)]
        if not fits_without_horizontal_scroll(page):
            found.append("the page scrolls sideways")
        if found:
            problems[name] = found

    _sweep(browser, live_server, make_user, code, (390,), check)
    assert problems == {}, "\n".join(
        f"{name}: {problem}" for name, found in problems.items() for problem in found
    )
