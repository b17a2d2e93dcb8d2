"""Phone numbers: parse what a person typed, refuse what cannot receive a code, display."""

from __future__ import annotations

import enum
import functools
import unicodedata
from collections.abc import Iterable

import phonenumbers
from babel import Locale, UnknownLocaleError
from django.db.models import Q
from django.utils import translation
from phonenumbers import PhoneNumberFormat, PhoneNumberType


class PhoneProblem(enum.Enum):
    UNREADABLE = "unreadable"
    IMPOSSIBLE = "impossible"
    REGION_NOT_ALLOWED = "region_not_allowed"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    EXTENSION = "extension"


# Numbers that cost the organisation money or cannot be tied to a person (docs/security.md §10):
# refused for a person's own phone wherever it comes in and again before every send.
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
# An office phone is a desk line an administrator sets (the admin, the contact import, the
# directory): those are often VoIP, so VoIP is accepted there, and nothing else of the above —
# a premium-rate or shared-cost desk "line" would be called at the organisation's cost.
REFUSED_DESK_TYPES = REFUSED_TYPES - {PhoneNumberType.VOIP}


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
    This is the one phone policy check: the user's form, the admin's forms, the contact import
    and the check before every send all call it. `refuse_types=False` is the office phone's
    rule: VoIP desk lines are accepted, premium-rate, shared-cost, free-phone, UAN and pager
    numbers are not (REFUSED_DESK_TYPES).
    """
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(PhoneProblem.UNREADABLE) from exc
    if number.extension:
        # A code is sent to the line, never dialled on to an extension: whoever answers the
        # switchboard would hear it. Refused rather than dropped without a word.
        raise PhoneError(PhoneProblem.EXTENSION)
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(PhoneProblem.IMPOSSIBLE)
    allowed = {code.upper() for code in allowed_regions}
    if allowed and phonenumbers.region_code_for_number(number) not in allowed:
        raise PhoneError(PhoneProblem.REGION_NOT_ALLOWED)
    refused = REFUSED_TYPES if refuse_types else REFUSED_DESK_TYPES
    if phonenumbers.number_type(number) in refused:
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
    """The country calling code of an E.164 string, used to group sending limits and to mask.

    Country codes are prefix-free, so for a well-formed E.164 string the first one to three
    digits that name a country are its code (what parsing would find, without parsing)."""
    text = str(value)
    if len(text) >= 8 and text[0] == "+" and text[1:].isdigit() and text[1] != "0":
        for size in (1, 2, 3):
            if int(text[1 : 1 + size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                return text[1 : 1 + size]
        return "unknown"
    try:
        return str(phonenumbers.parse(str(value), None).country_code)
    except phonenumbers.NumberParseException:
        return "unknown"


def _sort_key(label: str) -> str:
    """Alphabetical as a reader expects: accents ignored ("Åland" sorts with the A's)."""
    decomposed = unicodedata.normalize("NFKD", label)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


@functools.lru_cache(maxsize=16)
def _all_region_choices(language: str) -> tuple[tuple[str, str], ...]:
    """Every country that has phone numbers, named in `language` (CLDR, through Babel), as
    "United Kingdom (+44)", sorted for that language. Built once per language."""
    try:
        names = Locale.parse(language.replace("-", "_")).territories
    except (ValueError, UnknownLocaleError):
        names = Locale("en").territories
    choices = [
        (region, f"{names.get(region, region)} (+{phonenumbers.country_code_for_region(region)})")
        for region in phonenumbers.SUPPORTED_REGIONS
    ]
    return tuple(sorted(choices, key=lambda choice: _sort_key(choice[1])))


def region_choices(
    allowed_regions: Iterable[str] = (), language: str | None = None
) -> list[tuple[str, str]]:
    """Countries for the selector in the reader's language, limited to `allowed_regions`."""
    allowed = {code.upper() for code in allowed_regions}
    choices = _all_region_choices(language or translation.get_language() or "en")
    return [choice for choice in choices if not allowed or choice[0] in allowed]


def region_of(number) -> str:
    """The country a number belongs to (its two letters; "" when none is known): what the
    policy's countries are compared with, here and before every send."""
    try:
        parsed = (
            number
            if isinstance(number, phonenumbers.PhoneNumber)
            else phonenumbers.parse(str(number), None)
        )
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.region_code_for_number(parsed) or ""


class InPolicyCountries:
    """A phone method whose numbers count only in the policy's countries: the check before
    every send (`destination_allowed`), the person's page (`still_allowed`) and the lists'
    counts (`region_condition`, by the country kept with each number) agree, also where
    countries share a calling code."""

    related_name: str

    def still_allowed(self, destination: str, policy) -> bool:
        return not policy.region_list or region_of(destination) in policy.region_list

    def region_condition(self, policy):
        regions = policy.region_list
        return Q(**{f"{self.related_name}__country__in": regions}) if regions else Q()
