"""Numbers that reach the service without the user's own form still obey the policy: the CSV
import, the administrator's forms, and the moment before any send (docs/security.md)."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone

from audit.models import Event, EventKind
from methods.contact_import import import_contact_info
from methods.models import AuthenticationEmail, AuthenticationPhone, OfficePhone
from policy.models import Policy
from tests.support.people import sign_in
from tests.support.resets import shows_reset_code_page, start_reset

pytestmark = pytest.mark.django_db

PREMIUM_GB = "+449098790000"
GERMAN_MOBILE = "+4915123456789"


@pytest.fixture
def gb_only(policy):
    policy.allowed_regions = "GB"
    policy.save()
    return policy


def run_import(text: str, policy: Policy):
    return import_contact_info(io.BytesIO(text.encode()), allowed_regions=policy.region_list)


def test_the_import_refuses_numbers_the_policy_refuses(gb_only, make_user):
    make_user("ann")
    make_user("bob")
    make_user("cat")
    report = run_import(
        "username,office_phone,authentication_phone,consent\n"
        f"ann,,{GERMAN_MOBILE},yes\n"
        f"bob,,{PREMIUM_GB},yes\n"
        f"cat,{GERMAN_MOBILE},,\n",
        gb_only,
    )
    reasons = {(error.line, error.column): error.message for error in report.errors}
    assert reasons[(2, "authentication_phone")] == "country not allowed"
    assert "premium-rate" in reasons[(3, "authentication_phone")]
    assert reasons[(4, "office_phone")] == "country not allowed"
    assert not AuthenticationPhone.objects.exists() and not OfficePhone.objects.exists()


def admin_form(user, **fields) -> dict:
    data = {
        "username": user.username,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
    }
    for prefix in ("office_phone", "authentication_phone", "authentication_email"):
        data |= {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1",
        }
    for prefix, number in fields.items():
        data |= {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-number": number,
            f"{prefix}-0-user": str(user.pk),
            f"{prefix}-0-user_agreed": "on",
        }
    return data


@pytest.mark.parametrize(
    ("inline", "number", "message"),
    [
        ("authentication_phone", GERMAN_MOBILE, "does not accept phone numbers from this country"),
        ("authentication_phone", PREMIUM_GB, "premium-rate"),
        ("office_phone", GERMAN_MOBILE, "does not accept phone numbers from this country"),
    ],
)
def test_admin_forms_refuse_numbers_the_policy_refuses(
    admin_client, gb_only, make_user, inline, number, message
):
    user = make_user("pat")
    url = f"/admin/auth/user/{user.pk}/change/"
    response = admin_client.post(url, admin_form(user, **{inline: number}))
    assert response.status_code == 200
    assert message in response.content.decode().lower()
    assert not AuthenticationPhone.objects.exists() and not OfficePhone.objects.exists()


def test_admin_forms_accept_allowed_numbers(admin_client, gb_only, make_user):
    user = make_user("pat")
    url = f"/admin/auth/user/{user.pk}/change/"
    data = admin_form(user, office_phone="+442071838750", authentication_phone="+447400123456")
    assert admin_client.post(url, data).status_code == 302
    assert AuthenticationPhone.objects.get(user=user).prepopulated


def test_a_prepopulated_number_outside_the_policy_gets_no_code(
    client, gb_only, make_user, phone_outbox
):
    """Entered before the policy narrowed: confirming it sends nothing and says why."""
    user = make_user("pat")
    AuthenticationPhone.objects.create(user=user, number=GERMAN_MOBILE, prepopulated=True)
    sign_in(client, "pat")
    assert client.post("/ssprsetup/phone/confirm/")["Location"] == "/ssprsetup/phone/send/"
    response = client.post("/ssprsetup/phone/send/", {"channel": "sms"})
    assert response.status_code == 200
    assert "does not allow codes to this number" in response.content.decode()
    assert phone_outbox == []
    refused = Event.objects.get(kind=EventKind.CODE_SEND_REFUSED)
    assert refused.details["reason"] == "not_allowed"


def test_a_reset_code_never_goes_to_a_number_outside_the_policy(
    client, gb_only, make_user, phone_outbox, settings
):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000
    user = make_user("rita")
    AuthenticationPhone.objects.create(user=user, number=GERMAN_MOBILE, verified_at=timezone.now())
    start_reset(client, "rita")
    response = client.post(
        "/passwordreset/phone/", {"region": "", "number": GERMAN_MOBILE, "channel": "sms"}
    )
    assert shows_reset_code_page(response)  # as for any number: nothing said
    assert phone_outbox == []


def test_a_number_outside_the_policy_counts_nowhere_and_every_page_says_so(
    gb_only, make_user, helpdesk_client
):
    """Since a code never goes to it, a verified number outside the policy's countries counts
    for nothing: the person's page says it is not usable and that they cannot reset, the
    helpdesk's list and the policy's count of who can reset leave them out. A number inside
    the countries still counts."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from policy.admin import able_to_reset
    from registration.flows import registration_status

    rita = make_user("rita")
    AuthenticationPhone.objects.create(user=rita, number=GERMAN_MOBILE, verified_at=timezone.now())
    # An address is no country's: it still counts.
    ann = make_user("ann")
    AuthenticationEmail.objects.create(
        user=ann, email="ann.home@example.net", verified_at=timezone.now()
    )
    assert registration_status(user=ann, policy=gb_only).can_reset
    sam = make_user("sam")
    AuthenticationPhone.objects.create(user=sam, number="+447400123456", verified_at=timezone.now())
    assert not registration_status(user=rita, policy=gb_only).can_reset
    assert registration_status(user=sam, policy=gb_only).can_reset
    client = Client()
    sign_in(client, "rita")
    page = client.get("/ssprsetup/").content.decode()
    assert "does not send codes to this country" in page
    assert "you can reset or unlock it yourself" not in page
    users = get_user_model().objects.all()
    able = able_to_reset(gb_only, users).order_by("username").values_list("username", flat=True)
    assert list(able) == ["ann", "sam"]
    listing = helpdesk_client.get("/helpdesk/?can_reset=yes").content.decode()
    assert "sam" in listing and ">rita<" not in listing


@pytest.mark.parametrize(
    ("allowed", "number", "counts"),
    [
        ("GB", "+447797123456", False),  # Jersey: +44, not the United Kingdom
        ("GB,JE", "+447797123456", True),
        ("US", "+16135550123", False),  # Canada: +1, not the United States
        ("US", "+12125550123", True),
    ],
)
def test_countries_sharing_a_calling_code_are_told_apart_on_every_page(
    policy, make_user, allowed, number, counts
):
    """The person's page, the lists' counts and the check before a send agree, also where
    two countries share a calling code (the country is kept with each number)."""
    from django.contrib.auth import get_user_model

    from methods.code.method import phone_allowed
    from policy.admin import able_to_reset
    from registration.flows import registration_status

    policy.allowed_regions = allowed
    policy.save()
    rita = make_user("rita")
    phone = AuthenticationPhone.objects.create(user=rita, number=number, verified_at=timezone.now())
    country = {"+447797123456": "JE", "+16135550123": "CA", "+12125550123": "US"}[number]
    assert phone.country == country
    assert registration_status(user=rita, policy=policy).can_reset is counts
    listed = able_to_reset(policy, get_user_model().objects.all()).filter(pk=rita.pk).exists()
    assert listed is counts
    assert phone_allowed(number, policy, refuse_types=True) is counts


def test_an_imported_office_phone_keeps_its_country(gb_only, make_user, tmp_path):
    rita = make_user("rita")
    header = "username,office_phone,authentication_phone,authentication_email,consent\n"
    report = import_contact_info(io.BytesIO((header + "rita,+442071838750,,,no\n").encode()))
    assert report.applied == 1
    assert OfficePhone.objects.get(user=rita).country == "GB"


def test_a_person_whose_number_left_the_policy_still_needs_a_proof_to_change(gb_only, make_user):
    """Her number proves nothing now, but she had it: whoever holds her password alone cannot
    add a method as if none were registered. The proof page says why it cannot be given, and
    that the helpdesk can give a pass."""
    from django.test import Client

    rita = make_user("rita")
    AuthenticationPhone.objects.create(user=rita, number=GERMAN_MOBILE, verified_at=timezone.now())
    client = Client()
    sign_in(client, "rita")
    response = client.get("/ssprsetup/email/")
    assert response.status_code == 302 and "/passwordreset/prove/" in response["Location"]
    page = client.get(response["Location"], follow=True).content.decode()
    assert "no longer sends codes to the country of your number" in page
    assert "temporary access pass" in page
    # Nothing is left to check, so no time limit to extend either.
    assert "More time for this check" not in page
    assert "must be finished within 15 minutes" not in page
