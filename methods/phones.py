"""Phone numbers: parse what a person typed, refuse what cannot receive a code, display."""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, geocoder


class PhoneProblem(enum.Enum):
    UNREADABLE = "unreadable"
    IMPOSSIBLE = "impossible"
    REGION_NOT_ALLOWED = "region_not_allowed"
    TYPE_NOT_ALLOWED = "type_not_allowed"


# Numbers that cost the organisation money or cannot be tied to a person (docs/security.md §10).
REFUSED_TYPES = frozenset(
    {
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.VOIP,
        PhoneNumberType.UAN,
        PhoneNumberType.PAGER,
        PhoneNumberType.TOLL_FREE,
    }
)


class PhoneError(ValueError):
    def __init__(self, problem: PhoneProblem):
        super().__init__(problem.value)
        self.problem = problem


def parse(
    raw: str,
    *,
    region: str | None,
    allowed_regions: Iterable[str] = (),
    refuse_types: bool = True,
) -> phonenumbers.PhoneNumber:
    """Return the parsed number or raise PhoneError with the reason it is refused.

    `region` is the country chosen beside the field; a number typed with a leading + ignores it.
    `refuse_types=False` accepts any real number (office phones: desk VoIP lines are common).
    """
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(PhoneProblem.UNREADABLE) from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(PhoneProblem.IMPOSSIBLE)
    allowed = {code.upper() for code in allowed_regions}
    if allowed and phonenumbers.region_code_for_number(number) not in allowed:
        raise PhoneError(PhoneProblem.REGION_NOT_ALLOWED)
    if refuse_types and phonenumbers.number_type(number) in REFUSED_TYPES:
        raise PhoneError(PhoneProblem.TYPE_NOT_ALLOWED)
    return number


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def international(value: str) -> str:
    """Format an E.164 string for display: +44 7700 900123."""
    try:
        number = phonenumbers.parse(str(value), None)
    except phonenumbers.NumberParseException:
        return str(value)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def country_prefix(value: str) -> str:
    """The country calling code of an E.164 string, used to group sending limits."""
    try:
        return str(phonenumbers.parse(str(value), None).country_code)
    except phonenumbers.NumberParseException:
        return "unknown"


@functools.lru_cache(maxsize=64)
def _region_label(region: str, language: str) -> str:
    example = phonenumbers.example_number(region)
    name = geocoder.country_name_for_number(example, language) if example else ""
    return f"{name or region} (+{phonenumbers.country_code_for_region(region)})"


def region_choices(
    allowed_regions: Iterable[str] = (), language: str = "en"
) -> list[tuple[str, str]]:
    """Countries for the selector, such as "United Kingdom (+44)", sorted by name."""
    regions = {code.upper() for code in allowed_regions} or phonenumbers.SUPPORTED_REGIONS
    choices = [
        (region, _region_label(region, language))
        for region in regions
        if region in phonenumbers.SUPPORTED_REGIONS
    ]
    return sorted(choices, key=lambda choice: choice[1])
