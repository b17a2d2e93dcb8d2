"""The admin as an administrator sees it, at 1280 px with the navigation sidebar open."""

from __future__ import annotations

import pytest

from tests.support.browser import ARTIFACTS
from tests.support.people import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_user_list_keeps_registration_and_can_reset_in_view(page, make_user):
    admin = make_user("root", staff=True)
    admin.is_superuser = True
    admin.save()
    for index in range(5):
        make_user(
            f"person-with-a-rather-long-name-{index}", email=f"long.address.{index}@example.org"
        )
    # Everything the admin's pages ask for is there (their icon: tests/site/test_page_icon.py).
    missing = []
    page.on("response", lambda answer: answer.status >= 400 and missing.append(answer.url))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/login/")
    page.locator("#id_username").fill("root")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.goto("/admin/auth/user/")
    page.get_by_role("heading", name="Please register before you continue").or_(
        page.locator("#changelist")
    ).first.wait_for()
    if "/ssprsetup/" in page.url:  # the registration prompt at sign-in: postpone it
        page.get_by_role("button", name="Not now").click()
        page.goto("/admin/auth/user/")
    sidebar = page.locator("#nav-sidebar")
    assert sidebar.is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "40-admin-user-list-1280.png"))
    for column in ("column-registration_state", "column-can_reset"):
        box = page.locator(f"th.{column}").bounding_box()
        assert box and box["x"] + box["width"] <= 1280, column
    summary = page.goto("/admin/")
    assert summary.ok
    assert page.locator("#registration-summary").is_visible()
    assert missing == []


@pytest.mark.parametrize(
    ("language", "width"), [("en", 1280), ("de", 1280), ("de", 390), ("en", 390)]
)
def test_the_admin_pages_this_service_adds_pass_axe(
    browser, live_server, make_user, language, width
):
    from tests.support.browser import check_accessibility

    admin = make_user("root", staff=True)
    admin.is_superuser = True
    admin.save()
    make_user("fresh")
    context = browser.new_context(
        base_url=live_server.url,
        extra_http_headers={"Accept-Language": language},
        viewport={"width": width, "height": 900},
    )
    page = context.new_page()
    page.goto("/admin/login/")
    page.locator("#id_username").fill("root")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/ssprsetup/")  # the registration prompt at sign-in
    page.locator("form[action$='/skip/'] button").click()
    for path in (
        "/admin/",
        "/admin/auth/user/send-reminders/",  # with its list of who would be reminded
        "/admin/auth/user/import-contact-info/",
        "/admin/auth/user/?q=e",  # "2 results (Show all)": the link is underlined
    ):
        page.goto(path)
        assert page.url.endswith(path), page.url
        name = f"admin-{language}-{width}{path.replace('/', '-').replace('?', '-')}"
        check_accessibility(page, name)
    context.close()
