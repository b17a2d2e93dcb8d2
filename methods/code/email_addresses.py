"""One form for every email address the service stores or compares.

Browsers send an internationalised domain as punycode (`xn--exmple-cua.de`) while a file or a
person types it in Unicode (`exämple.de`). Stored and compared in one canonical form, an address
does not look changed each time an administrator saves a form, and a person typing either
spelling at /passwordreset is matched the same.
"""

from __future__ import annotations

import contextlib


def canonical_email(value: str) -> str:
    """The address with its domain in lower-case Unicode; the local part is kept as typed."""
    value = (value or "").strip()
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    labels = []
    for label in domain.split("."):
        label = label.lower()
        if label.startswith("xn--"):
            # Not valid punycode: left as it is, for the validator to refuse.
            with contextlib.suppress(UnicodeError):
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return f"{local}@{'.'.join(labels)}"
