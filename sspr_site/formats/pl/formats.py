"""Dates with a time as Django gives them for this language, with the time zone after the
time (sspr_site/formats/en/formats.py says why); every other format is Django's."""

DATETIME_FORMAT = "j E Y H:i T"
SHORT_DATETIME_FORMAT = "d-m-Y H:i T"
