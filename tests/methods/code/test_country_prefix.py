"""The quick country code of an E.164 string is the one parsing finds, for every country."""

from __future__ import annotations

import phonenumbers
import pytest

from methods.code.phone_numbers import country_prefix


def parsed(value: str) -> str:
    try:
        return str(phonenumbers.parse(value, None).country_code)
    except phonenumbers.NumberParseException:
        return "unknown"


def test_every_countrys_example_numbers():
    checked = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            assert country_prefix(e164) == parsed(e164), e164
            checked += 1
    assert checked > 400


@pytest.mark.parametrize(
    "value", ["+0123456789", "+999123456789", "+1", "+44", "07400123456", "+44 20 7183 8750", ""]
)
def test_odd_values_read_as_parsing_reads_them(value):
    assert country_prefix(value) == parsed(value)
