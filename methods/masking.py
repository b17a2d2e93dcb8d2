"""Masked forms of contact details, for every place but the owner's pages and the admin."""

from __future__ import annotations

from .code.phone_numbers import country_prefix

MASK = "•"


def mask_phone(value) -> str:
    """Keep the country code and the last two digits: +44 ••••••••56.

    `value` is an E.164 string or an already parsed number (which saves parsing it again).
    """
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    if len(digits) < 4:
        return MASK * 4
    code = getattr(value, "country_code", None)
    prefix = str(code) if code else country_prefix(str(value))
    if prefix == "unknown":
        prefix = ""
    hidden = len(digits) - len(prefix) - 2
    return f"+{prefix} {MASK * max(hidden, 2)}{digits[-2:]}".strip()


def mask_email(value: str) -> str:
    """Keep the first letter and the domain: a•••@example.org."""
    local, _sep, domain = str(value).rpartition("@")
    if not local:
        return MASK * 4
    return f"{local[0]}{MASK * 3}@{domain}"
