"""The office phone mirrored from the directory (directory/mirror.py): a number written without
a country code is read in the README's SSPR_DEFAULT_PHONE_REGION, as the phone forms read it;
without that region only numbers with a country code are mirrored."""

from directory.mirror import office_number


def test_a_national_number_is_read_in_the_default_region(settings):
    settings.SSPR_DEFAULT_PHONE_REGION = "GB"
    assert office_number("020 7946 0202") == "+442079460202"
    assert office_number("+49 30 901820") == "+4930901820"


def test_without_a_default_region_only_international_numbers_are_mirrored(settings):
    settings.SSPR_DEFAULT_PHONE_REGION = ""
    assert office_number("020 7946 0202") == ""
    assert office_number("+44 20 7946 0202") == "+442079460202"
    assert office_number("not a number") == ""


def test_a_number_with_an_extension_is_not_mirrored(settings):
    """Its code would be read to whoever answers the switchboard."""
    settings.SSPR_DEFAULT_PHONE_REGION = "GB"
    assert office_number("+44 20 7946 0202 ext. 4411") == ""
    assert office_number("020 7946 0202 x4411") == ""
