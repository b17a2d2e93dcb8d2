"""English dates as people read them everywhere: day, month name, year, and a 24-hour time.
No abbreviation dots ("Nov.", "p.m.") that end up doubled at the end of a sentence, and no
month-first numbers that read differently on either side of the Atlantic."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
