"""Directory mode in Chromium: a person of the test directory signs in, changes their password
(the directory's refusal shown at the field), resets it at /passwordreset, and unlocks a
locked account — axe-clean in English and German, at desktop and phone width."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from methods.models import AuthenticationEmail
from tests.support.browser import check_accessibility, fits_without_horizontal_scroll
from tests.support.codes import latest_email_code
from tests.support.directory import binds, lock_out

pytestmark = [pytest.mark.browser, pytest.mark.directory, pytest.mark.django_db(transaction=True)]

ADA = "Ada-Directory-2026"
NEW = "Lighthouse-copper-kettle-2027"
NEWER = "Harbour-walnut-lantern-2028"


@pytest.fixture
def context_for(directory, context_for):
    """The shared browser pages (tests/e2e/conftest.py), against the test directory."""
    return context_for


def sign_in(page, username: str, password: str) -> None:
    page.goto("/ssprsetup/signin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/**")


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("de", 390)])
def test_change_a_known_password_in_the_directory(context_for, slapd, language, width):
    page = context_for(language, width)
    sign_in(page, "ada", ADA)
    page.goto("/ssprsetup/password/")
    rules = page.locator("#password-rules").inner_text()
    # The directory's own rule (its history of 3), before typing; its 10-character minimum is
    # folded into the site's stricter 12 (one list, the stricter of each).
    assert re.search(r"(last 3 passwords|letzten 3 Passwörter)", rules)
    assert re.search(r"12 (characters|Zeichen)", rules)
    check_accessibility(page, f"dir-{language}-{width}-change")
    assert fits_without_horizontal_scroll(page)
    page.locator("#id_current_password").fill(ADA)
    page.locator("#id_new_password1").fill(NEW)
    page.locator("#id_new_password2").fill(NEW)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/")
    assert binds(slapd, "ada", NEW)
    # The directory's history refuses a password used before (one the site's own rules
    # take): said at the field.
    later = "Marble-harbour-lantern-2028"
    page.goto("/ssprsetup/password/")
    page.locator("#id_current_password").fill(NEW)
    page.locator("#id_new_password1").fill(later)
    page.locator("#id_new_password2").fill(later)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/")
    page.goto("/ssprsetup/password/")
    page.locator("#id_current_password").fill(later)
    page.locator("#id_new_password1").fill(NEW)
    page.locator("#id_new_password2").fill(NEW)
    page.locator("form.stack button[type=submit]").click()
    field = page.locator("#id_new_password1")
    assert field.get_attribute("aria-invalid") == "true"
    # The box is described by the rules above the form, then by its error (and, with
    # JavaScript, by the strength verdict under it).
    rules_id, error_id, *meter = field.get_attribute("aria-describedby").split()
    assert rules_id == "password-rules" and meter == ["password-strength"]
    error = page.locator(f"#{error_id}").inner_text()
    assert "used it before" in error or "schon einmal verwendet" in error
    check_accessibility(page, f"dir-{language}-{width}-change-refused")
    assert binds(slapd, "ada", later)


def prove_by_email(page, username: str, action_label: re.Pattern, mail_dir) -> None:
    page.goto("/passwordreset/")
    page.locator("#id_username").fill(username)
    page.wait_for_function(
        "() => { const f = document.querySelector('input[name=altcha]');"
        " return f && f.value.length > 20; }",
        timeout=30000,
    )
    page.get_by_label(action_label).check()  # asked on the first page, with the name
    page.locator("form button.primary[type=submit]").click()
    card = page.locator("form[action='/passwordreset/email/']")  # on the methods page
    card.locator("input[name=email]").fill(f"{username}.home@example.net")
    card.locator("button[type=submit]").click()
    page.locator("#id_code").fill(latest_email_code(mail_dir))
    page.locator("form button.primary[type=submit]").click()
    page.wait_for_url("**/passwordreset/finish/")


@pytest.mark.parametrize(("language", "width"), [("en", 390), ("de", 1280)])
def test_reset_and_unlock_in_the_directory(context_for, slapd, settings, outboxes, language, width):
    from django.test import Client

    settings.SSPR_CAPTCHA_DIFFICULTY = 20_000
    _phone_dir, mail_dir = outboxes
    Client().post("/ssprsetup/signin/", {"username": "ada", "password": ADA})  # mirrored
    from django.contrib.auth import get_user_model

    ada = get_user_model().objects.get(username="ada")
    AuthenticationEmail.objects.create(
        user=ada, email="ada.home@example.net", verified_at=timezone.now()
    )
    page = context_for(language, width)
    prove_by_email(page, "ada", re.compile("forgot|vergessen"), mail_dir)
    # The current password: the site's rules pass it (no name in it), the directory's history
    # does not.
    settings.AUTH_PASSWORD_VALIDATORS = []
    page.locator("#id_new_password1").fill(ADA)
    page.locator("#id_new_password2").fill(ADA)
    page.locator("form.stack button[type=submit]").click()
    assert page.locator("#id_new_password1").get_attribute("aria-invalid") == "true"
    check_accessibility(page, f"dir-{language}-{width}-reset-refused")
    assert fits_without_horizontal_scroll(page)
    page.locator("#id_new_password1").fill(NEWER)
    page.locator("#id_new_password2").fill(NEWER)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/passwordreset/done/")
    assert binds(slapd, "ada", NEWER) and not binds(slapd, "ada", ADA)
    # Locked in the directory: unlock from the portal, the password kept.
    lock_out(slapd, "ada")
    prove_by_email(page, "ada", re.compile("locked|gesperrt"), mail_dir)
    state = page.locator("#account-state").inner_text()
    assert "locked at the moment" in state or "gerade gesperrt" in state
    check_accessibility(page, f"dir-{language}-{width}-unlock")
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/passwordreset/done/")
    assert binds(slapd, "ada", NEWER)
