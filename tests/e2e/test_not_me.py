"""'That wasn't me' in Chromium (README, "That wasn't me"; methods/not_me.py), in English at
desktop width and German at phone width: someone with Rita's password (and a code) adds their
own email; the notice reaches Rita's address with a link. Opening it (as a mail scanner would)
changes nothing; confirming undoes the change, signs the other browser out and pauses
self-service; the helpdesk sees her first and turns it on again. Every page passes axe."""

from __future__ import annotations

import re
from email import message_from_bytes

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from methods.models import AuthenticationEmail, AuthenticationPhone, SelfServiceBlock
from tests.support.browser import (
    check_accessibility,
    fits_without_horizontal_scroll,
    prove_if_asked,
)
from tests.support.codes import latest_email_code, latest_phone_code
from tests.support.people import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NUMBER = "+447400123456"
LINK = re.compile(r"https?://[^\s]+/ssprsetup/not-me/[^/\s]+/")


def sign_in(page, username: str) -> None:
    page.goto("/ssprsetup/signin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/**")


def notice_link(mail_dir, live_server_url: str) -> str:
    """The "That wasn't me" link of the change notice sent to Rita's own address."""
    for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
        for part in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if not part.strip():
                continue
            message = message_from_bytes(part)
            body = (message.get_payload(decode=True) or b"").decode("utf-8", "replace")
            if message["To"] == "rita@example.org" and (found := LINK.search(body)):
                return live_server_url + "/ssprsetup/" + found.group(0).split("/ssprsetup/")[1]
    raise AssertionError("no notice with a link")


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("de", 390)])
def test_the_link_asks_then_undoes_signs_out_and_pauses_until_the_helpdesk_clears_it(
    context_for, live_server, make_user, outboxes, language, width, settings
):
    settings.SSPR_SITE_URL = live_server.url
    phone_dir, mail_dir = outboxes
    rita = make_user("rita")
    AuthenticationPhone.objects.create(user=rita, number=NUMBER, verified_at=timezone.now())
    agent = make_user("agent")
    agent.groups.add(Group.objects.get_or_create(name="Helpdesk")[0])
    agent.user_permissions.add(Permission.objects.get(codename="use_helpdesk"))

    # The thief: her password, a proof with her phone (a phished code), then their email.
    thief = context_for(language, width)
    sign_in(thief, "rita")
    thief.goto("/ssprsetup/email/")
    prove_if_asked(thief, lambda: latest_phone_code(phone_dir))
    thief.locator("#id_email").fill("thief@evil.example")
    thief.locator("form.stack button[type=submit]").click()
    thief.locator("#id_code").wait_for()  # the code page, in the same response
    thief.locator("#id_code").fill(latest_email_code(mail_dir))
    thief.locator("form.stack button[type=submit]").click()
    thief.wait_for_url("**/ssprsetup/")
    assert AuthenticationEmail.objects.filter(user=rita, email="thief@evil.example").exists()

    # Rita opens the link from the notice: a page that only asks.
    link = notice_link(mail_dir, live_server.url)
    reader = context_for(language, width)
    reader.goto(link)
    check_accessibility(reader, f"not-me-{language}-{width}-ask")
    assert fits_without_horizontal_scroll(reader)
    assert reader.locator("main h1").count() == 1
    if language == "en":
        assert reader.locator("main h1").inner_text() == "Was this change not yours?"
    assert AuthenticationEmail.objects.filter(user=rita).exists()
    assert not SelfServiceBlock.objects.exists()

    # She confirms: the change is undone, everyone is signed out, self-service is paused.
    reader.locator("main form button[type=submit]").click()
    reader.locator(".panel-success").wait_for()
    check_accessibility(reader, f"not-me-{language}-{width}-done")
    assert fits_without_horizontal_scroll(reader)
    assert not AuthenticationEmail.objects.filter(user=rita).exists()
    assert SelfServiceBlock.objects.filter(user=rita).exists()
    thief.goto("/ssprsetup/")
    thief.wait_for_url("**/ssprsetup/signin/**")

    # Signed in again, nothing can be changed; the page says why.
    sign_in(thief, "rita")
    assert thief.locator(".panel-warning[role=status]").count() == 1
    thief.goto("/ssprsetup/email/")
    check_accessibility(thief, f"not-me-{language}-{width}-paused")
    assert thief.locator("#id_email").count() == 0

    # The helpdesk sees her above the list and turns self-service on again.
    desk = context_for(language, width)
    sign_in(desk, "agent")
    desk.locator("form[action$='/skip/'] button").click()  # postpone her own registration
    desk.goto("/helpdesk/")
    paused = desk.locator("section[aria-labelledby=paused-heading]")
    assert paused.locator(f"a[href='/helpdesk/users/{rita.pk}/']").count() == 1
    check_accessibility(desk, f"not-me-{language}-{width}-helpdesk-list")
    paused.locator(f"a[href='/helpdesk/users/{rita.pk}/']").click()
    desk.wait_for_url(f"**/helpdesk/users/{rita.pk}/")
    check_accessibility(desk, f"not-me-{language}-{width}-helpdesk-user")
    assert fits_without_horizontal_scroll(desk)
    resume = desk.locator(f"form[action='/helpdesk/users/{rita.pk}/resume/']")
    resume.locator("input[value=in_person]").check()
    resume.locator("button").click()
    desk.wait_for_url(f"**/helpdesk/users/{rita.pk}/")
    assert not SelfServiceBlock.objects.exists()

    # The link worked once.
    reader.goto(link)
    assert reader.locator("main form").count() == 0
