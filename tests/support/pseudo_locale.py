"""A pseudo-locale for the tests only (README, "Languages"): every string that goes through
gettext comes out accented and about 40 % longer, so a page shown in it reveals text that
never went through gettext (plain ASCII letters) and layouts that cannot take longer words.

`installed(settings, tmp_path)` adds the language "qps-ploc" (the code Windows uses for the
same purpose) to the site for the rest of the test: an empty compiled catalogue on disk lets
Django accept the code from the browser, and a translation object that rewrites every message
answers in its place. Placeholders (%(name)s, %s, {name}), markup and entities are kept.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from django.conf.locale import LANG_INFO
from django.utils.translation import trans_real

CODE = "qps-ploc"
PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ACCENTED = "áƀçđéƒğĥíĵķĺɱñóƥǫŕšţúṽŵẋýžÁƁÇĐÉƑĞĤÍĴĶĹṀÑÓƤǪŔŠŢÚṼŴẊÝŽ"
ACCENT = str.maketrans(PLAIN, ACCENTED)
KEEP = re.compile(r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr%]|\{[^{}]*\}|<[^>]+>|&[#\w]+;")
PADDING = "ŀóŕéɱ íƥšúɱ đóĺóŕ šíţ áɱéţ çóñšéçţéţúŕ áđíƥíšçíñğ éĺíţ šéđ đó éíúšɱóđ"


def pseudo(text: str) -> str:
    """'Reset your password' -> 'Ŕéšéţ ýóúŕ ƥáššŵóŕđ ŀóŕéɱ íƥ': accented, 40 % longer."""
    if not text or not text.strip():
        return text
    out, position, letters = [], 0, 0
    for kept in KEEP.finditer(text):
        plain = text[position : kept.start()]
        letters += sum(char.isalpha() for char in plain)
        out.append(plain.translate(ACCENT))
        out.append(kept.group())
        position = kept.end()
    rest = text[position:]
    letters += sum(char.isalpha() for char in rest)
    out.append(rest.translate(ACCENT))
    extra = (letters * 2) // 5
    if not extra:
        return "".join(out)
    # Padding before trailing whitespace (a line's end stays where it was).
    body = "".join(out)
    stripped = body.rstrip()
    return f"{stripped} {PADDING[:extra].strip()}{body[len(stripped) :]}"


class PseudoTranslation(trans_real.DjangoTranslation):
    """Every message rewritten by pseudo(); a message with a context loses the context."""

    def gettext(self, message):
        return pseudo(message.split(trans_real.CONTEXT_SEPARATOR, 1)[-1])

    def ngettext(self, singular, plural, number):
        return self.gettext(singular if number == 1 else plural)


def _empty_catalogue(path: Path) -> None:
    """A compiled catalogue holding only its header (enough for Django to accept the code)."""
    header = (
        b"Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n"
    )
    keys, values = b"\0", header + b"\0"
    offset_keys = 7 * 4 + 16
    offset_values = offset_keys + len(keys)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        struct.pack("<7I", 0x950412DE, 0, 1, 28, 36, 0, 0)
        + struct.pack("<2I", 0, offset_keys)
        + struct.pack("<2I", len(header), offset_values)
        + keys
        + values
    )


def installed(settings, tmp_path: Path, monkeypatch) -> str:
    """Offer the pseudo-locale for the rest of the test; return its code."""
    folder = tmp_path / "pseudo-locale"
    _empty_catalogue(folder / trans_real.to_locale(CODE) / "LC_MESSAGES" / "django.mo")
    monkeypatch.setitem(
        LANG_INFO,
        CODE,
        {"bidi": False, "code": CODE, "name": "Pseudo", "name_local": pseudo("Pseudo")},
    )
    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS, folder]
    settings.LANGUAGES = [*settings.LANGUAGES, (CODE, "Pseudo")]
    # Changing those settings emptied Django's cache of translations; this one answers for the
    # pseudo-locale from now on.
    trans_real._translations[CODE] = PseudoTranslation(CODE)
    return CODE
