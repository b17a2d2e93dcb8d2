"""Browser tests: Debian's Chromium driven by Playwright against the live test server."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM
from tests.directory.conftest import (  # noqa: F401  (the directory's fixtures, for its browser tests)
    directory,
    slapd,
    slapd_people,
    slapd_tls,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop; Django refuses ORM calls when it sees one.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def outboxes(settings, tmp_path):
    """Codes go to files, as in a demo: the browser test reads them like a person would."""
    phone_dir, mail_dir = tmp_path / "phone", tmp_path / "mail"
    settings.SSPR_PHONE_BACKEND = "file"
    settings.SSPR_PHONE_FILE_PATH = str(phone_dir)
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(mail_dir)
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    return phone_dir, mail_dir


def latest_phone_code(phone_dir: Path) -> str:
    newest = sorted(phone_dir.glob("*.json"))[-1]
    message = json.loads(newest.read_text())
    if message["kind"] == "voice":
        return "".join(re.findall(r"(?<!\d)(\d)\.", message["text"])[:6])
    return re.search(r"\b(\d{6})\b", message["text"]).group(1)


def latest_email_code(mail_dir: Path) -> str:
    newest = max(mail_dir.glob("*.log"), key=lambda path: path.stat().st_mtime_ns)
    return re.findall(r"\b(\d{6})\b", newest.read_text())[-1]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_failed = report.failed
    return report


@pytest.fixture
def page(request, browser, live_server, outboxes, approved_questions):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    if getattr(request.node, "call_failed", False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


def check_accessibility(page, name: str) -> None:
    """Save a screenshot, then assert axe-core finds no WCAG 2.1 A/AA violation."""
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"


def fits_without_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def prove_if_asked(page, code, number: str = "+44 7400 123456") -> None:
    """Proof before change (methods/proof.py): when a setup page sent the person to prove a
    method they have, prove it with their phone through the reset portal's pages, as a person
    would, and land back on the setup page. `code()` reads the code that was sent."""
    if "/passwordreset/methods/" not in page.url:
        return
    page.locator("a[href='/passwordreset/phone/']").first.click()
    page.wait_for_url("**/passwordreset/phone/")
    page.locator("#id_number").fill(number)
    page.locator("main form.stack button[type=submit]").first.click()
    page.wait_for_url("**/passwordreset/phone/code/")
    page.locator("#id_code").fill(code())
    page.locator("main form.stack button[type=submit]").first.click()
    page.wait_for_url("**/ssprsetup/**")


@pytest.fixture
def context_for(browser, live_server, outboxes, approved_questions):
    """A new browser page in `language` at `width`; every one is closed at the end."""
    contexts = []

    def make(language: str, width: int):
        context = browser.new_context(
            base_url=live_server.url,
            extra_http_headers={"Accept-Language": language},
            viewport={"width": width, "height": 900},
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield make
    for context in contexts:
        context.close()
