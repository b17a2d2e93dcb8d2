"""Dates with a time as Django gives them for this language, with the time zone after the
time (sspr_site/formats/en/formats.py says why); every other format is Django's."""

# Django gives Arabic no date with a time of its own: the date as it gives it, then the time.
# A left-to-right mark before the zone keeps an offset the way it is written ("+03", not "03+")
# in right-to-left text, plain-text notices included; the short date keeps its own marks.
DATETIME_FORMAT = "j F، Y، H:i \u200eT"
SHORT_DATETIME_FORMAT = "d\u200f/m\u200f/Y، H:i \u200eT"
