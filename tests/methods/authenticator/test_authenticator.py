"""The authenticator app: set up with a QR code or the key, confirmed by a first code; a code
works once, one step of drift either way; usable at /passwordreset and for the helpdesk's
caller check; the key never leaves the setup page."""

from __future__ import annotations

import base64
import re
import time

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Event, EventKind
from methods.authenticator.models import AuthenticatorDevice
from tests.support.resets import shows_finish_page, start_reset, without_tokens

pytestmark = pytest.mark.django_db

SETUP = "/ssprsetup/authenticator/"
RESET = "/passwordreset/authenticator/"


def code_for(key_hex: str, *, steps: int = 0) -> str:
    return f"{totp(bytes.fromhex(key_hex), t0=0, step=30, digits=6, drift=steps):06d}"


def page_key(page: str) -> str:
    """The key as the setup page shows it, back to hex."""
    grouped = re.search(r'class="setup-key"[^>]*>([A-Z2-7 ]+)<', page).group(1)
    raw = grouped.replace(" ", "")
    return base64.b32decode(raw + "=" * (-len(raw) % 8)).hex()


def set_up(client) -> str:
    page = client.get(SETUP).content.decode()
    key = page_key(page)
    response = client.post(SETUP, {"code": code_for(key)})
    assert response.status_code == 302 and response["Location"] == "/ssprsetup/"
    return key


@pytest.fixture
def with_app(make_user, client):
    """rita, with an authenticator app she set up herself; signed out again."""
    from tests.support.people import sign_in

    user = make_user("rita")
    sign_in(client, "rita")
    key = set_up(client)
    client.logout()
    TOTPDevice.objects.filter(user=user).update(last_t=-1)  # her setup code may be reused in tests
    return user, key


def test_setup_shows_a_qr_code_and_the_key_and_needs_a_first_code(signed_in, user):
    page = signed_in.get(SETUP).content.decode()
    assert "<svg" in page and "QR code to scan with your authenticator app" in page
    # Scaled whole to its box by the page's style: a viewBox, no fixed size to cut it at.
    svg = re.search(r"<svg[^>]*>", page).group(0)
    assert re.search(r'viewBox="0 0 (\d+) \1"', svg) and " width=" not in svg
    key = page_key(page)
    assert AuthenticatorDevice.objects.get(user=user).bin_key.hex() == key  # the one kept
    assert "<script" not in page.split("<main")[1]  # works without JavaScript
    # Not counted until a first code confirms it.
    overview = signed_in.get("/ssprsetup/").content.decode()
    assert (
        "Authenticator app" in overview and "Not set up" in overview.split("Authenticator app")[1]
    )

    wrong = signed_in.post(SETUP, {"code": "000000" if code_for(key) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    # Straight after a wrong code the app's code waits for the backoff, and says how long.
    assert (
        "too soon after a wrong code, so it was not checked. Enter the code again in 1 second."
        in signed_in.post(SETUP, {"code": code_for(key)}).content.decode()
    )
    TOTPDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)

    signed_in.post(SETUP, {"code": code_for(key)})
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    card = signed_in.get("/ssprsetup/").content.decode().split("<h2>Authenticator app</h2>")[1]
    assert "Verified" in card.split("</li>")[0]
    event = Event.objects.get(kind=EventKind.METHOD_VERIFIED, subject=user)
    assert event.details["method"] == "authenticator_app"
    assert key not in str(event.details) and code_for(key) not in str(event.details)
    assert any("Authenticator app" in message.body for message in mail.outbox)


def test_setting_up_again_replaces_the_app_only_when_the_new_one_is_confirmed(signed_in, user):
    first = set_up(signed_in)
    page = signed_in.get(SETUP).content.decode()
    assert "replaces the one you set up before" in page
    second = page_key(page)
    assert second != first
    assert (
        AuthenticatorDevice.objects.filter(user=user, confirmed=True).get().bin_key.hex() == first
    )
    signed_in.post(SETUP, {"code": code_for(second)})
    assert [d.bin_key.hex() for d in AuthenticatorDevice.objects.filter(user=user)] == [second]
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_the_setup_page_asks_for_the_password_again_after_ten_minutes(signed_in, user):
    import time_machine

    with time_machine.travel(time.time() + 11 * 60):
        response = signed_in.get(SETUP)
    assert response.status_code == 302 and "/ssprsetup/confirm-password/" in response["Location"]


def test_reset_with_the_app(client, with_app):
    user, key = with_app
    start_reset(client, "rita")
    methods = client.get("/passwordreset/methods/").content.decode()
    assert "Authenticator app" in methods and RESET in methods
    response = client.post(RESET, {"code": code_for(key)})
    # One method is enough here: straight on to the new password, as the methods page would.
    assert shows_finish_page(response)
    assert client.get("/passwordreset/methods/")["Location"] == "/passwordreset/finish/"
    passed = Event.objects.get(kind=EventKind.RESET_METHOD_PASSED, subject=user)
    assert passed.details["method"] == "authenticator_app"


def test_a_code_works_once_and_drift_is_one_step(client, with_app):
    _user, key = with_app
    start_reset(client, "rita")
    earlier = code_for(key, steps=-1)  # kept: a new 30-second step may begin meanwhile
    assert shows_finish_page(client.post(RESET, {"code": earlier}))
    # The same code, or one from before it, is refused afterwards (a replay).
    start_reset(client, "rita")
    again = client.post(RESET, {"code": earlier})
    assert "We could not verify you" in again.content.decode()
    TOTPDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert (
        "We could not verify you"
        in client.post(RESET, {"code": code_for(key, steps=-2)}).content.decode()
    )
    TOTPDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert shows_finish_page(client.post(RESET, {"code": code_for(key, steps=1)}))


def test_failures_back_off_and_are_capped_per_attempt(client, with_app):
    _user, key = with_app
    start_reset(client, "rita")
    client.post(RESET, {"code": "123456" if code_for(key) != "123456" else "654321"})
    device = TOTPDevice.objects.get()
    assert device.throttling_failure_count == 1
    # Straight after a failure the right code is refused too: the backoff holds.
    assert client.post(RESET, {"code": code_for(key)}).status_code == 200
    TOTPDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    for _ in range(5):
        client.post(RESET, {"code": "999999" if code_for(key) != "999999" else "888888"})
        TOTPDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    # Five tries an attempt: the sixth is refused even when right.
    assert client.post(RESET, {"code": code_for(key)}).status_code == 200


def test_strangers_wrong_codes_hold_the_persons_app_back_a_day_at_most(client, with_app):
    """Anyone can type wrong codes for a person's app at the reset portal: the backoff they
    build is capped at a day, so after twenty-five of them the person's right code works a day
    after the last (uncapped, 2**24 seconds: half a year), and a guesser gets no more than a
    checked code a day."""
    from datetime import timedelta

    from django.utils import timezone

    _user, key = with_app
    last = timezone.now() - timedelta(hours=24) + timedelta(seconds=5)
    TOTPDevice.objects.update(throttling_failure_count=25, throttling_failure_timestamp=last)
    start_reset(client, "rita")
    assert not shows_finish_page(client.post(RESET, {"code": code_for(key)}))
    assert TOTPDevice.objects.get().throttling_failure_count == 25  # not checked, not counted
    TOTPDevice.objects.update(throttling_failure_timestamp=last - timedelta(seconds=10))
    again = type(client)()
    start_reset(again, "rita")
    assert shows_finish_page(again.post(RESET, {"code": code_for(key, steps=-1)}))


def test_a_key_someone_else_saw_is_never_the_one_the_person_confirms(make_user, client):
    """The key being set up is the session's own: whoever read the setup page once (with the
    person's password, before they registered) does not hold the key the person confirms
    later, in their own session."""
    from django.test import Client

    from tests.support.people import sign_in

    make_user("alice")
    attacker = Client()
    sign_in(attacker, "alice")
    seen = page_key(attacker.get(SETUP).content.decode())
    assert page_key(attacker.get(SETUP).content.decode()) == seen  # the same tab, again
    sign_in(client, "alice")
    own = page_key(client.get(SETUP).content.decode())
    assert own != seen
    # The key the attacker saw is not hers: a code from it confirms nothing.
    assert client.post(SETUP, {"code": code_for(seen)}).status_code == 200
    assert not AuthenticatorDevice.objects.filter(confirmed=True).exists()
    TOTPDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert client.post(SETUP, {"code": code_for(own)}).status_code == 302
    assert AuthenticatorDevice.objects.get(confirmed=True).bin_key.hex() == own


def test_each_session_keeps_its_own_key_until_one_is_confirmed(make_user, client):
    """The person opens the setup on a laptop, then on a phone, and someone with her password
    keeps reloading it elsewhere: the laptop's key still confirms. Once it did, the keys the
    other sessions were setting up are gone."""
    from django.test import Client

    from tests.support.people import sign_in

    make_user("alice")
    sign_in(client, "alice")
    laptop = page_key(client.get(SETUP).content.decode())
    others = []
    for _ in range(2):
        other = Client()
        sign_in(other, "alice")
        for _ in range(3):
            other.get(SETUP)
        others.append(other)
    assert client.post(SETUP, {"code": code_for(laptop)}).status_code == 302
    # The one device left: hers, confirmed; the other sessions' keys are gone.
    assert AuthenticatorDevice.objects.get().bin_key.hex() == laptop


def test_a_key_that_ended_or_was_pushed_out_says_so_and_counts_nothing(make_user, client):
    """The laptop's key, pushed out by keys opened in as many other sessions as a person may
    set up at once (or ended after an hour): a code from it is not checked, and the page says
    the key was replaced and shows the new one."""
    from django.test import Client

    from methods.authenticator.views import MOST_PENDING
    from tests.support.people import sign_in

    make_user("alice")
    sign_in(client, "alice")
    laptop = page_key(client.get(SETUP).content.decode())
    for _ in range(MOST_PENDING):
        other = Client()
        sign_in(other, "alice")
        other.get(SETUP)
    response = client.post(SETUP, {"code": code_for(laptop)})
    page = response.content.decode()
    assert response.status_code == 200 and "This key was replaced" in page
    assert page_key(page) != laptop
    assert not AuthenticatorDevice.objects.filter(throttling_failure_count__gt=0).exists()
    assert client.post(SETUP, {"code": code_for(page_key(page))}).status_code == 302
    assert AuthenticatorDevice.objects.count() == 1


def test_accounts_without_the_app_see_the_same_page_and_cost_the_same_queries(
    client, with_app, make_user
):
    make_user("sam")  # registered nothing
    pages, counts = {}, {}
    for name in ("rita", "sam", "nobody-here"):
        other = client.__class__()
        start_reset(other, name)
        with CaptureQueriesContext(connection) as queries:
            response = other.post(RESET, {"code": "000000"})
        pages[name] = without_tokens(response.content.decode())
        counts[name] = len(queries)
        assert response.status_code == 200
    assert pages["rita"] == pages["sam"] == pages["nobody-here"]
    assert counts["rita"] == counts["sam"] == counts["nobody-here"]


def test_helpdesk_caller_check_asks_for_a_current_code(helpdesk_client, with_app, policy):
    user, key = with_app
    start = helpdesk_client.get(f"/helpdesk/users/{user.pk}/verify/").content.decode()
    assert "Authenticator app (the caller reads the code it shows)" in start
    response = helpdesk_client.post(
        f"/helpdesk/users/{user.pk}/verify/", {"method": "authenticator"}
    )
    assert response["Location"] == f"/helpdesk/users/{user.pk}/verify/code/"
    page = helpdesk_client.get(response["Location"]).content.decode()
    assert "read you the code it shows now" in page
    checked = helpdesk_client.post(response["Location"], {"code": code_for(key)}).content.decode()
    assert "Verified." in checked
    event = Event.objects.get(kind=EventKind.HELPDESK_CHECK)
    assert event.details == {"method": "authenticator_app", "outcome": "verified"}


def test_a_right_app_code_during_the_wait_is_neither_verified_nor_failed(
    helpdesk_client, with_app, policy, settings
):
    """As for a sent code: too soon after a wrong one, the caller's code is not looked at. The
    agent is told to ask again in a moment, and no failed check is recorded."""
    import time_machine
    from django.utils import timezone

    settings.OTP_TOTP_THROTTLE_FACTOR = 30
    user, key = with_app
    helpdesk_client.post(f"/helpdesk/users/{user.pk}/verify/", {"method": "authenticator"})
    check = f"/helpdesk/users/{user.pk}/verify/code/"
    wrong = "000000" if code_for(key) != "000000" else "111111"
    assert "Not verified." in helpdesk_client.post(check, {"code": wrong}).content.decode()
    page = helpdesk_client.post(check, {"code": code_for(key)}).content.decode()
    assert "Not verified." not in page and "Verified." not in page
    assert "so it was not checked. Enter the code again in" in page
    outcomes = Event.objects.filter(kind=EventKind.HELPDESK_CHECK)
    assert [e.details["outcome"] for e in outcomes] == ["not_verified"]
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=31)):
        page = helpdesk_client.post(check, {"code": code_for(key)}).content.decode()
    assert "Verified." in page and "Not verified." not in page


def test_the_key_is_never_shown_outside_the_setup_page(admin_client, helpdesk_client, with_app):
    user, key = with_app
    assert admin_client.get("/admin/otp_totp/totpdevice/").status_code == 404
    grouped = base64.b32encode(bytes.fromhex(key)).decode().rstrip("=")
    for client, url in (
        (admin_client, f"/admin/auth/user/{user.pk}/change/"),
        (helpdesk_client, f"/helpdesk/users/{user.pk}/"),
        (helpdesk_client, "/helpdesk/"),
        (helpdesk_client, "/helpdesk/export.csv"),
    ):
        response = client.get(url)
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        assert key not in body and grouped[:16] not in body, url
    listing = helpdesk_client.get("/helpdesk/").content.decode()
    assert "Authenticator app: Ready to use" in listing


def test_removing_the_app(signed_in, user):
    set_up(signed_in)
    page = signed_in.get("/ssprsetup/authenticator/remove/").content.decode()
    assert "Authenticator app" in page
    signed_in.post("/ssprsetup/authenticator/remove/")
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert Event.objects.filter(kind=EventKind.METHOD_REMOVED, subject=user).exists()


# --- The key at rest (docs/security.md §37) ----------------------------------------------------


def stored_key_columns(device_pk) -> str:
    """Both tables' rows of a device, as a backup would hold them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM otp_totp_totpdevice WHERE id = %s", [device_pk])
        parent = cursor.fetchall()
        cursor.execute(
            "SELECT * FROM sspr_authenticator_authenticatordevice WHERE totpdevice_ptr_id = %s",
            [device_pk],
        )
        child = cursor.fetchall()
    assert parent and child
    return repr(parent + child)


def key_forms(key_hex: str) -> list[str]:
    raw = bytes.fromhex(key_hex)
    return [
        key_hex,
        key_hex.upper(),
        base64.b32encode(raw).decode().rstrip("="),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


def test_the_database_never_holds_the_key_in_clear(signed_in, user):
    page = signed_in.get(SETUP).content.decode()
    key = page_key(page)
    pending = AuthenticatorDevice.objects.get(user=user)
    for form in key_forms(key):
        assert form not in stored_key_columns(pending.pk), "pending key stored in clear"
    signed_in.post(SETUP, {"code": code_for(key)})
    device = AuthenticatorDevice.objects.get(user=user, confirmed=True)
    stored = stored_key_columns(device.pk)
    for form in key_forms(key):
        assert form not in stored
    # django-otp's own column holds a marker no code can be made from.
    plain = TOTPDevice.objects.get(pk=device.pk)
    assert plain.key == "sealed"
    with pytest.raises(ValueError):
        plain.bin_key  # noqa: B018


def test_field_keys_rotate_old_keys_still_open_new_writes_use_the_newest(
    client, make_user, settings, helpdesk_client
):
    from sspr_site import field_keys
    from tests.support.people import sign_in

    settings.SSPR_FIELD_KEYS = ["key-A-" + "a" * 40]
    user = make_user("rita")
    sign_in(client, "rita")
    key = set_up(client)
    client.logout()
    TOTPDevice.objects.filter(user=user).update(last_t=-1)  # the setup code may be reused
    device = AuthenticatorDevice.objects.get(user=user)
    sealed_under_a = device.sealed_key
    assert field_keys.is_current(sealed_under_a)

    # Key B added in front: what A sealed still opens, so the reset and the helpdesk check work.
    settings.SSPR_FIELD_KEYS = ["key-B-" + "b" * 40, "key-A-" + "a" * 40]
    assert not field_keys.is_current(sealed_under_a)
    start_reset(client, "rita")
    assert shows_finish_page(client.post(RESET, {"code": code_for(key, steps=-1)}))
    # Used once under B: sealed again under B, so A can be dropped.
    device.refresh_from_db()
    assert device.sealed_key != sealed_under_a and field_keys.is_current(device.sealed_key)
    settings.SSPR_FIELD_KEYS = ["key-B-" + "b" * 40]
    checked = helpdesk_client.post(
        f"/helpdesk/users/{user.pk}/verify/", {"method": "authenticator"}, follow=True
    )
    assert checked.status_code == 200
    page = helpdesk_client.post(
        f"/helpdesk/users/{user.pk}/verify/code/", {"code": code_for(key)}
    ).content.decode()
    assert "Verified." in page

    # A new app set up now is sealed under the newest key.
    other = make_user("sam")
    sam = client.__class__()
    sign_in(sam, "sam")
    set_up(sam)
    assert field_keys.is_current(AuthenticatorDevice.objects.get(user=other).sealed_key)


def test_reseal_command_moves_every_key_to_the_newest(make_user, settings):
    from django.core.management import call_command

    from sspr_site import field_keys

    settings.SSPR_FIELD_KEYS = ["old-" + "o" * 40]
    devices = [
        AuthenticatorDevice.objects.create(user=make_user(f"p{n}"), name="app", confirmed=True)
        for n in range(3)
    ]
    keys = [device.bin_key for device in devices]
    settings.SSPR_FIELD_KEYS = ["new-" + "n" * 40, "old-" + "o" * 40]
    call_command("reseal_secrets", verbosity=0)
    settings.SSPR_FIELD_KEYS = ["new-" + "n" * 40]
    for device, key in zip(devices, keys, strict=True):
        device.refresh_from_db()
        assert field_keys.is_current(device.sealed_key) and device.bin_key == key


def test_a_key_no_configured_key_opens_fails_closed(client, with_app, settings, caplog):
    """The field keys replaced without keeping the old one: the app is refused like a wrong
    code, never a server error, and the log says why (without the key)."""
    user, key = with_app
    settings.SSPR_FIELD_KEYS = ["unrelated-" + "u" * 40]
    start_reset(client, "rita")
    response = client.post(RESET, {"code": code_for(key)})
    assert response.status_code == 200 and "We could not verify you" in response.content.decode()
    assert "authenticator key cannot be opened" in caplog.text and key not in caplog.text


def test_the_migration_seals_keys_kept_in_clear(transactional_db, make_user):
    """Apps set up before keys were sealed: the data migration seals each one and the same
    codes keep working."""
    from django.core.management import call_command

    user = make_user("old")
    call_command("migrate", "sspr_authenticator", "zero", verbosity=0)
    try:
        plain = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
        key = plain.key
        assert len(key) == 40
    finally:
        call_command("migrate", "sspr_authenticator", verbosity=0)
    assert TOTPDevice.objects.get(pk=plain.pk).key == "sealed"
    device = AuthenticatorDevice.objects.get(pk=plain.pk)
    assert device.bin_key.hex() == key
    assert key not in stored_key_columns(device.pk)
    from methods.authenticator.method import check_code

    assert check_code(user.pk, code_for(key))
