"""The browser tests' helpers (tests/e2e): the Chromium found on this machine, where screenshots
go, an accessibility check with axe-core (WCAG 2.1 A and AA), whether a page fits its width, the
sign-in to the overview, and the proof before a change made through the reset portal's pages as
a person would."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.codes import arrived
from tests.support.people import PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def check_accessibility(page, name: str) -> None:
    """Save a screenshot, then assert axe-core finds no WCAG 2.1 A/AA violation."""
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in at /ssprsetup/signin/ and wait for the overview."""
    page.goto("/ssprsetup/signin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/")


def fits_without_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def prove_if_asked(page, code, number: str = "+44 7400 123456") -> None:
    """Proof before change (methods/proof.py): when a setup page sent the person to prove a
    method they have, prove it with their phone through the reset portal's pages, as a person
    would, and land back on the setup page. `code()` reads the code that was sent."""
    if "/passwordreset/methods/" not in page.url:
        return
    # The phone's card asks for the whole number (passwordreset.views.CARD_FORM).
    card = page.locator("form[action='/passwordreset/phone/']")
    card.locator("input[name=number]").fill(number)
    card.locator("button[type=submit]").click()
    page.wait_for_url("**/passwordreset/phone/code/")
    # The code page comes in the answer that asks for the code; the job that sends it runs
    # just after that answer, so the message may be a moment behind the page.
    page.locator("#id_code").fill(arrived(code, "code"))
    page.locator("main form.stack button[type=submit]").first.click()
    page.wait_for_url("**/ssprsetup/**")
