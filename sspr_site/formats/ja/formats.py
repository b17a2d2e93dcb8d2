"""Dates with a time as Django gives them for this language, with the time zone after the
time (sspr_site/formats/en/formats.py says why); every other format is Django's."""

DATETIME_FORMAT = "Y年n月j日G:i T"
SHORT_DATETIME_FORMAT = "Y/m/d G:i T"
