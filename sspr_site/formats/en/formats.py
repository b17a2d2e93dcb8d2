"""English dates as people read them everywhere: day, month name, year, and a 24-hour time
with its time zone (the organisation's, DJANGO_TIME_ZONE: "UTC", "CET"), since a notice or a
page may be read elsewhere (in the hour repeated when clocks go back, Django cannot tell which
of the two it is and leaves the zone out). No abbreviation dots ("Nov.", "p.m.") that end up
doubled at the end of a sentence, and no month-first numbers that read differently on either
side of the Atlantic."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i T"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i T"
TIME_FORMAT = "H:i"
