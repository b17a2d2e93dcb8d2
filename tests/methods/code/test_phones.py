from __future__ import annotations

import pytest

from methods.code.phone_numbers import PhoneError, PhoneProblem, e164, international, parse
from methods.masking import mask_email, mask_phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("07400 123456", "GB", "+447400123456"),
        ("+44 7400 123456", None, "+447400123456"),
        ("+44 7400 123456", "DE", "+447400123456"),  # a leading + wins over the selector
        ("(415) 555-2671", "US", "+14155552671"),
        ("0151 12345678", "DE", "+4915112345678"),
    ],
)
def test_numbers_are_parsed_to_e164(raw, region, expected):
    assert e164(parse(raw, region=region)) == expected


@pytest.mark.parametrize(
    ("raw", "region", "allowed", "problem"),
    [
        ("not a number", "GB", (), PhoneProblem.UNREADABLE),
        ("12", "GB", (), PhoneProblem.IMPOSSIBLE),
        ("+44 7700 900123", None, (), PhoneProblem.IMPOSSIBLE),
        ("+1 415 555 2671", None, ("GB", "DE"), PhoneProblem.REGION_NOT_ALLOWED),
        ("+44 909 090 1234", None, (), PhoneProblem.TYPE_NOT_ALLOWED),  # premium rate
        ("+44 56 1234 5678", None, (), PhoneProblem.TYPE_NOT_ALLOWED),  # VoIP
        ("+44 800 123 4567", None, (), PhoneProblem.TYPE_NOT_ALLOWED),  # free phone
        # A switchboard and an extension: the code would go to whoever answers.
        ("+44 20 7183 8750 ext. 123", None, (), PhoneProblem.EXTENSION),
        ("+1 415 555 2671 x89", None, (), PhoneProblem.EXTENSION),
    ],
)
def test_numbers_that_cannot_receive_codes_are_refused(raw, region, allowed, problem):
    with pytest.raises(PhoneError) as caught:
        parse(raw, region=region, allowed_regions=allowed)
    assert caught.value.problem is problem


def test_international_format():
    assert international("+447400123456") == "+44 7400 123456"


def test_masks_keep_country_code_and_last_two_digits_or_first_letter_and_domain():
    assert mask_phone("+447400123456") == "+44 ••••••••56"
    assert mask_phone("+14155552671") == "+1 ••••••••71"
    assert mask_email("alice.home@example.net") == "a•••@example.net"
    for masked in (mask_phone("+447400123456"), mask_email("alice.home@example.net")):
        assert "7400123" not in masked and "alice.home" not in masked


def test_the_country_list_uses_proper_names_sorted_for_the_reader():
    from methods.code.phone_numbers import region_choices

    english = [label for _code, label in region_choices(language="en")]
    assert "Kosovo (+383)" in english and "Ascension Island (+247)" in english
    assert not any(label.startswith(("XK ", "AC ")) for label in english)
    # Åland sorts with the A's, not after Z.
    position = english.index("Åland Islands (+358)")
    assert english[position - 1].startswith("Afghanistan")
    assert english[position + 1].startswith("Albania")
    german = dict(region_choices(language="de"))
    assert german["DE"] == "Deutschland (+49)" and german["GB"] == "Vereinigtes Königreich (+44)"
    assert [code for code, _label in region_choices(["GB", "DE"], language="de")] == ["DE", "GB"]


def test_the_phone_form_says_choose_a_country_first(signed_in):
    page = signed_in.get("/ssprsetup/phone/").content.decode()
    assert '<option value="" selected>Choose a country</option>' in page
    german = signed_in.get("/ssprsetup/phone/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Deutschland (+49)" in german


@pytest.mark.parametrize(
    ("region", "number", "says"),
    [
        ("GB", "12", "cannot exist in the country chosen"),
        ("", "+1 555 0100", "cannot exist in the country its code names"),
        ("GB", "+1 555 0100", "cannot exist in the country its code names"),
    ],
)
def test_an_impossible_number_names_where_its_country_came_from(region, number, says):
    """A number typed with "+" takes its country from the code, not from the list: the
    message points at what the person actually gave."""
    from django.utils import translation

    from methods.code.forms import PhoneForm

    with translation.override("en"):
        form = PhoneForm({"region": region, "number": number})
        assert not form.is_valid()
        assert says in " ".join(form.errors["number"])


@pytest.mark.django_db
def test_the_office_phone_cannot_also_be_the_authentication_phone(signed_in, user, phone_outbox):
    """One handset would pass both methods of a two-method reset: the form says so next to
    the number, and nothing is sent or stored; another number goes through."""
    from methods.models import AuthenticationPhone, OfficePhone, VerificationCode

    OfficePhone.objects.create(user=user, number="+442071838750")
    office = {"region": "GB", "number": "020 7183 8750", "channel": "sms"}
    page = signed_in.post("/ssprsetup/phone/", office)
    assert page.status_code == 200
    assert "This is your office phone" in page.content.decode()
    assert 'aria-invalid="true"' in page.content.decode()
    assert not phone_outbox and not VerificationCode.objects.exists()
    assert not AuthenticationPhone.objects.exists()
    other = signed_in.post(
        "/ssprsetup/phone/", {"region": "GB", "number": "07400 123456", "channel": "sms"}
    )
    assert other.status_code == 200 and len(phone_outbox) == 1
