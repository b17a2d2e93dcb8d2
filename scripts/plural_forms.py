"""Give every catalogue in locale/ its language's plural rule (README, "Languages").

`make messages` runs this after `makemessages`, which copies a new catalogue's Plural-Forms from
Django's own catalogue (for Polish a fourth form CLDR does not know) and leaves two msgstr[]
slots in every plural entry whatever the language. This writes the CLDR rule (the number of
forms is Babel's) in the order translation tools show the forms (zero, one, two, few, many,
other) and gives every plural entry one slot per form, keeping what is already translated.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.plurals import get_plural

RULES = {
    "de": "(n != 1)",
    "fr": "(n > 1)",
    "es": "(n != 1)",
    "it": "(n != 1)",
    "pt_BR": "(n > 1)",
    "nl": "(n != 1)",
    "pl": "(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)",
    "ja": "0",
    "ar": (
        "(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
        "n%100>=11 && n%100<=99 ? 4 : 5)"
    ),
}
SLOT = re.compile(r"^msgstr\[(\d+)\] ")


def plural_header(language: str) -> str:
    return f"nplurals={get_plural(language).num_plurals}; plural={RULES[language]};"


def _header(block: str, language: str) -> str:
    lines, out, skipping = block.split("\n"), [], False
    for line in lines:
        if line == "#, fuzzy":  # a fuzzy header is left out of the compiled catalogue
            continue
        if line.startswith('"Plural-Forms:'):
            skipping = not line.endswith('\\n"')
            out.append(f'"Plural-Forms: {plural_header(language)}\\n"')
            continue
        if skipping:
            skipping = not line.endswith('\\n"')
            continue
        out.append(line)
    if not any(line.startswith('"Plural-Forms:') for line in lines):
        out.append(f'"Plural-Forms: {plural_header(language)}\\n"')
    text = "\n".join(out).replace('"Language: \\n"', f'"Language: {language}\\n"')
    return text.replace('"Project-Id-Version: PACKAGE VERSION\\n"', '"Project-Id-Version: sspr\\n"')


def _slots(block: str, forms: int) -> str:
    """One msgstr[i] per form; a form already translated is kept, a missing one is empty."""
    if "\nmsgid_plural " not in block:
        return block
    lines = block.split("\n")
    start = next(i for i, line in enumerate(lines) if SLOT.match(line))
    slots: list[list[str]] = []
    for line in lines[start:]:
        if SLOT.match(line):
            slots.append([line])
        else:
            slots[-1].append(line)
    slots = slots[:forms] + [[f'msgstr[{i}] ""'] for i in range(len(slots), forms)]
    return "\n".join(lines[:start] + [line for slot in slots for line in slot])


def fix(po: Path) -> bool:
    language = po.parent.parent.name
    if language not in RULES:
        return False
    text = po.read_text()
    blocks = text.rstrip("\n").split("\n\n")
    forms = get_plural(language).num_plurals
    fixed = [_header(blocks[0], language)] + [_slots(block, forms) for block in blocks[1:]]
    new = "\n\n".join(fixed) + "\n"
    if new == text:
        return False
    po.write_text(new)
    return True


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "locale")
    for po in sorted(root.glob("*/LC_MESSAGES/django.po")):
        if fix(po):
            print(f"plural forms set in {po}")
