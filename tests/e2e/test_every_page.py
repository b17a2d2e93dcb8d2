"""axe-core over every page a person can reach, in English and German, at two widths."""

from __future__ import annotations

import pytest
from django.utils import timezone

from methods.models import AuthenticationEmail, AuthenticationPhone, SecurityAnswer
from registration.models import Registration
from tests.support.browser import check_accessibility, fits_without_horizontal_scroll
from tests.support.codes import latest_phone_code, message_count
from tests.support.people import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIGNED_IN_PAGES = [
    "/ssprsetup/",
    "/ssprsetup/phone/",
    "/ssprsetup/phone/send/",
    "/ssprsetup/phone/remove/",
    "/ssprsetup/email/",
    "/ssprsetup/email/remove/",
    "/ssprsetup/questions/",
    "/ssprsetup/confirm-password/",
    "/helpdesk/",  # not a helpdesk member: the "cannot open this page" page
]
ANONYMOUS_PAGES = [
    "/ssprsetup/signin/",
    "/passwordreset/",
    "/passwordreset/methods/",  # without an attempt: the "start again" page
    "/no/such/page/",  # the site's "page not found"
    "/passwordreset/?username=%00",  # a character no page can use: "request not understood"
]


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_page_passes_axe_and_fits_a_phone(
    browser, live_server, make_user, outboxes, language
):
    user = make_user("rita")
    now = timezone.now()
    AuthenticationPhone.objects.create(user=user, number="+447400123456", verified_at=now)
    AuthenticationEmail.objects.create(user=user, email="rita.home@example.net", verified_at=now)
    Registration.objects.create(user=user, completed_at=now, last_confirmed_at=now)
    context = browser.new_context(
        base_url=live_server.url, extra_http_headers={"Accept-Language": language}
    )
    page = context.new_page()
    for path in ANONYMOUS_PAGES:
        page.goto(path)
        check_accessibility(page, f"sweep-{language}{path.replace('/', '-')}")
    page.goto("/ssprsetup/signin/")
    page.locator("#id_username").fill("rita")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/")
    # A change needs a proof with a method she has (methods/proof.py): the proof page too.
    page.goto("/ssprsetup/phone/")
    page.wait_for_url("**/passwordreset/methods/")
    check_accessibility(page, f"sweep-{language}-prove")
    card = page.locator("form[action='/passwordreset/phone/']")
    card.locator("input[name=number]").fill("+44 7400 123456")
    sent_before = message_count(outboxes[0])
    card.locator("button[type=submit]").click()
    page.wait_for_url("**/passwordreset/phone/code/")
    check_accessibility(page, f"sweep-{language}-prove-code")
    page.locator("#id_code").fill(latest_phone_code(outboxes[0], more_than=sent_before))
    page.locator("main form.stack button[type=submit]").first.click()
    page.wait_for_url("**/ssprsetup/phone/")
    page.locator("#id_number").fill("+447400654321")
    page.locator("form.stack button[type=submit]").click()
    page.locator("#id_code").wait_for()  # the code page, in the same response
    for width in (1100, 360):
        page.set_viewport_size({"width": width, "height": 800})
        for path in SIGNED_IN_PAGES:
            page.goto(path)
            check_accessibility(page, f"sweep-{language}-{width}{path.replace('/', '-')}")
            assert fits_without_horizontal_scroll(page), (language, width, path)
    assert not SecurityAnswer.objects.exists()
    context.close()


HELPDESK_PAGES = ["/helpdesk/", "/helpdesk/report/?days=30", "/helpdesk/users/{pk}/"]


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_helpdesk_pages_pass_axe_at_both_widths(browser, live_server, make_user, language):
    from django.contrib.auth.models import Group

    from audit.log import record
    from audit.models import EventKind

    agent = make_user("agent")
    agent.groups.add(Group.objects.get_or_create(name="Helpdesk")[0])
    from django.contrib.auth.models import Permission

    agent.user_permissions.add(Permission.objects.get(codename="use_helpdesk"))
    person = make_user("person-with-a-rather-long-username")
    now = timezone.now()
    AuthenticationPhone.objects.create(user=person, number="+447400123456", verified_at=now)
    Registration.objects.create(user=person, completed_at=now, last_confirmed_at=now)
    record(EventKind.REGISTRATION_COMPLETED, subject=person, methods=["authentication_phone"])
    context = browser.new_context(
        base_url=live_server.url, extra_http_headers={"Accept-Language": language}
    )
    page = context.new_page()
    page.goto("/ssprsetup/signin/")
    page.locator("#id_username").fill("agent")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/")
    page.locator("form[action$='/skip/'] button").click()  # postpone the registration prompt
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for path in HELPDESK_PAGES:
            path = path.format(pk=person.pk)
            page.goto(path)
            assert "/helpdesk/" in page.url, page.url
            name = f"helpdesk-{language}-{width}{path.split('?')[0].replace('/', '-')}"
            check_accessibility(page, name)
            assert fits_without_horizontal_scroll(page), (language, width, path)
    context.close()
