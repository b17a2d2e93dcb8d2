"""`make run` serves and links the demo by name (http://localhost:PORT): every absolute link
comes from SSPR_SITE_URL, the passkey domain and origin follow it, and a setting that cannot
work for passkeys is named by `check` and on the passkey pages (README, Try it)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from sspr_site.checks import passkeys_can_work
from tests.support.people import PASSWORD, sign_in
from tests.support.registering import questions_data

ROOT = Path(__file__).resolve().parents[2]


def make_dry_run(*args: str) -> str:
    result = subprocess.run(  # noqa: S603
        ["make", "--no-print-directory", "-n", "run", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_run_serves_links_and_seeds_on_localhost_at_the_chosen_port():
    commands = make_dry_run("PORT=8123")
    assert "seed_demo --address http://localhost:8123" in commands
    assert "runserver localhost:8123" in commands
    seed, serve = (
        line for line in commands.splitlines() if "seed_demo" in line or "runserver" in line
    )
    assert "SSPR_SITE_URL=http://localhost:8123" in seed
    assert "SSPR_SITE_URL=http://localhost:8123" in serve
    assert "127.0.0.1" not in commands


def settings_under(env: dict[str, str]) -> dict:
    """The settings module read afresh with `env`, as `make run` starts it."""
    code = (
        "import json, sspr_site.settings as s; print(json.dumps([s.SSPR_SITE_URL,"
        " s.SSPR_WEBAUTHN_RP_ID, s.SSPR_WEBAUTHN_ORIGINS]))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_passkey_domain_and_origin_follow_the_site_address():
    assert settings_under({}) == ["http://localhost:8000", "localhost", ["http://localhost:8000"]]
    assert settings_under({"SSPR_SITE_URL": "http://localhost:8123/"}) == [
        "http://localhost:8123",
        "localhost",
        ["http://localhost:8123"],
    ]


def warnings(settings, **changes) -> set[str]:
    for name, value in changes.items():
        setattr(settings, name, value)
    return {warning.id for warning in passkeys_can_work(None)}


def test_check_names_passkey_settings_that_cannot_work(settings):
    assert warnings(settings) == set()  # the defaults: localhost
    assert "sspr.W020" in warnings(
        settings,
        SSPR_SITE_URL="http://127.0.0.1:8000",
        SSPR_WEBAUTHN_RP_ID="127.0.0.1",
        SSPR_WEBAUTHN_ORIGINS=["http://127.0.0.1:8000"],
    )
    assert (
        warnings(
            settings,
            SSPR_SITE_URL="https://reset.example.org",
            SSPR_WEBAUTHN_RP_ID="example.org",
            SSPR_WEBAUTHN_ORIGINS=["https://reset.example.org"],
        )
        == set()
    )  # a subdomain of the passkey domain is fine
    assert warnings(settings, SSPR_WEBAUTHN_RP_ID="other.example") == {"sspr.W021"}
    assert warnings(
        settings, SSPR_WEBAUTHN_RP_ID="example.org", SSPR_WEBAUTHN_ORIGINS=["https://x.example.org"]
    ) == {"sspr.W022"}


@pytest.mark.django_db
def test_the_passkey_page_says_when_this_address_cannot_use_passkeys(client, make_user, settings):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    settings.SSPR_WEBAUTHN_RP_ID = "localhost"
    make_user("alice")
    message = "This site is not set up for passkeys on this address"
    for host, refused in (("127.0.0.1:8000", True), ("localhost:8000", False)):
        client.post(
            "/ssprsetup/signin/",
            {"username": "alice", "password": PASSWORD},
            HTTP_HOST=host,
        )
        page = client.get("/ssprsetup/passkey/", HTTP_HOST=host).content.decode()
        assert (f'id="passkey-wrong-address">{message}' in page) is refused, host
        # The browser's own refusal gets the same words (passkey.js).
        assert f'data-wrong-address="{message}' in page
        client.logout()


@pytest.mark.django_db
def test_seed_demo_prints_the_site_address_and_whether_passkeys_work(settings, tmp_path):
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    settings.SSPR_SITE_URL = "http://localhost:8123"
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "http://localhost:8123/ssprsetup/" in out.getvalue()
    assert "Passkeys work at http://localhost:8123" in out.getvalue()
    out = io.StringIO()
    call_command("seed_demo", "--address", "http://127.0.0.1:8123", stdout=out)
    assert "Passkeys will not work at http://127.0.0.1:8123" in out.getvalue()


@pytest.mark.django_db
def test_notices_and_reminders_link_to_the_configured_port(client, make_user, settings):
    settings.SSPR_SITE_URL = "http://localhost:8123"
    make_user("alice")
    sign_in(client, "alice")
    assert client.post("/ssprsetup/questions/", questions_data(3)).status_code == 302
    (notice,) = mail.outbox
    assert "http://localhost:8123/ssprsetup/" in notice.body
    assert "8000" not in notice.body
    mail.outbox.clear()
    call_command("send_registration_reminders", stdout=io.StringIO(), stderr=io.StringIO())
    assert mail.outbox
    for reminder in mail.outbox:
        assert "http://localhost:8123/ssprsetup/" in reminder.body
