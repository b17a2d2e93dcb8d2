"""Browser tests: Debian's Chromium driven by Playwright against the live test server."""

from __future__ import annotations

import os

import pytest

from tests.support.browser import ARTIFACTS, CHROMIUM
from tests.support.slapd import (  # noqa: F401  (the directory's fixtures, for its browser tests)
    directory,
    slapd,
    slapd_people,
    slapd_tls,
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


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
