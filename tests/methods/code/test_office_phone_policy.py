"""One phone policy for every way a number comes in and before every send (docs/security.md
§10): an office phone may be a VoIP desk line, never a premium-rate, shared-cost or free-phone
number — in the admin, in the contact import, and at the moment of calling. The admin types
numbers as the person's own form does: a national number with its country, or +code."""

from __future__ import annotations

import io

import pytest

from methods.contact_import import import_contact_info
from methods.models import AuthenticationPhone, OfficePhone
from tests.attacks.test_policy_numbers import admin_form
from tests.support.resets import start_reset

pytestmark = pytest.mark.django_db

PREMIUM_GB = "+449098790000"
SHARED_COST_GB = "+448451234567"
FREE_PHONE_GB = "+448001234567"
VOIP_GB = "+445612345678"
DESK_GB = "+442071838750"


@pytest.fixture(autouse=True)
def _quick_captcha(settings):
    settings.SSPR_CAPTCHA_DIFFICULTY = 2000


def office_form(user, number: str, region: str = "") -> dict:
    data = admin_form(user, office_phone=number)
    data["office_phone-0-region"] = region
    return data


@pytest.mark.parametrize("number", [PREMIUM_GB, SHARED_COST_GB, FREE_PHONE_GB])
def test_the_admin_refuses_a_costly_office_phone(admin_client, make_user, number):
    user = make_user("pat")
    url = f"/admin/auth/user/{user.pk}/change/"
    response = admin_client.post(url, office_form(user, number))
    assert response.status_code == 200
    page = response.content.decode()
    # The office phone's own reason: a desk line may be VoIP, so VoIP is not named.
    assert "Premium-rate, shared-cost and free-phone numbers cannot be an office phone." in page
    assert "VoIP" not in page
    assert not OfficePhone.objects.exists()


def test_the_admin_accepts_a_voip_desk_line_and_a_national_number_with_its_country(
    admin_client, make_user
):
    user = make_user("pat")
    url = f"/admin/auth/user/{user.pk}/change/"
    page = admin_client.get(url).content.decode()
    # The same country choice as the person's own phone form.
    assert 'name="office_phone-__prefix__-region"' in page
    assert "United Kingdom (+44)" in page
    assert admin_client.post(url, office_form(user, VOIP_GB)).status_code == 302
    assert str(OfficePhone.objects.get(user=user).number) == VOIP_GB
    OfficePhone.objects.all().delete()
    response = admin_client.post(url, office_form(user, "020 7183 8750", region="GB"))
    assert response.status_code == 302
    assert str(OfficePhone.objects.get(user=user).number) == DESK_GB


def test_a_national_number_without_its_country_is_explained(admin_client, make_user):
    user = make_user("pat")
    url = f"/admin/auth/user/{user.pk}/change/"
    response = admin_client.post(url, office_form(user, "020 7183 8750"))
    assert response.status_code == 200
    assert "Choose the country, or type the number starting with + and its code." in (
        response.content.decode()
    )
    assert not OfficePhone.objects.exists()


def test_the_admin_authentication_phone_takes_a_national_number_with_its_country(
    admin_client, make_user
):
    user = make_user("pat")
    url = f"/admin/auth/user/{user.pk}/change/"
    data = admin_form(user, authentication_phone="07400 123456")
    data["authentication_phone-0-region"] = "GB"
    assert admin_client.post(url, data).status_code == 302
    phone = AuthenticationPhone.objects.get(user=user)
    assert str(phone.number) == "+447400123456" and phone.prepopulated


def test_the_import_refuses_a_costly_office_phone(make_user):
    make_user("ann")
    make_user("bob")
    report = import_contact_info(
        io.BytesIO(
            f"username,office_phone\nann,{PREMIUM_GB}\nbob,{VOIP_GB}\n".encode(),
        )
    )
    reasons = {(error.line, error.column): error.message for error in report.errors}
    assert reasons == {
        (2, "office_phone"): "premium-rate, shared-cost or free-phone numbers cannot be an "
        "office phone"
    }
    assert list(OfficePhone.objects.values_list("user__username", flat=True)) == ["bob"]


def test_a_premium_office_phone_already_stored_is_never_called(
    client, make_user, policy, phone_outbox
):
    """A number planted before the policy check (an old import) gets no call at reset."""
    user = make_user("rita")
    OfficePhone.objects.create(user=user, number=PREMIUM_GB)
    policy.set_option("office", "enabled", True)
    policy.save()
    start_reset(client, "rita")
    client.post("/passwordreset/office-phone/", {"number": PREMIUM_GB})
    assert phone_outbox == []


@pytest.mark.parametrize(("number", "region"), [("abc", ""), ("00000", ""), ("abc", "GB")])
def test_a_number_refused_in_the_admin_gets_one_message(admin_client, make_user, number, region):
    """One reason for one mistake: the model's own check of the number adds no second one."""
    user = make_user("pat")
    url = f"/admin/auth/user/{user.pk}/change/"
    page = admin_client.post(url, office_form(user, number, region=region)).content.decode()
    assert page.count('<ul class="errorlist') == 1
    assert "The phone number entered is not valid." not in page
    assert not OfficePhone.objects.exists()
