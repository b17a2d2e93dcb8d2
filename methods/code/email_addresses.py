"""One form for every email address the service stores or compares.

Browsers send an internationalised domain as punycode (`xn--exmple-cua.de`) while a file or a
person types it in Unicode (`exämple.de`). Stored and compared in one canonical form, an address
does not look changed each time an administrator saves a form, and a person typing either
spelling at /passwordreset is matched the same.
"""

from __future__ import annotations

import contextlib
import unicodedata

# The longest address stored, and the longest label a domain may have.
MAX_LENGTH = 254
MAX_LABEL = 63
# Full stops a keyboard in another script types between a domain's labels.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def canonical_email(value: str) -> str:
    """The address with its domain in lower-case Unicode, in its compatibility form (full-width
    letters as plain ones, as mail systems read them); the local part is kept as typed. An
    address longer than any stored, or a label longer than a domain may have, is left as it is
    for the validators to refuse: decoding it would cost time that grows with its length."""
    value = (value or "").strip()
    if len(value) > MAX_LENGTH:
        return value
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    domain = unicodedata.normalize("NFKC", domain).translate(_DOTS)
    labels = []
    for label in domain.split("."):
        label = label.lower()
        if label.startswith("xn--") and len(label) <= MAX_LABEL:
            # Not valid punycode: left as it is, for the validator to refuse.
            with contextlib.suppress(UnicodeError):
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return f"{local}@{'.'.join(labels)}"


def same_address(one: str, other: str) -> bool:
    """Whether two addresses are one mailbox as far as this site can tell: canonical, then
    compared without case or compatibility differences (the account's own address typed with
    capitals or full-width letters is still its own)."""

    def folded(value: str) -> str:
        return unicodedata.normalize("NFKC", canonical_email(value)).casefold()

    return bool(one and other) and folded(one) == folded(other)


def names_a_host(value: str) -> bool:
    """Whether an address names its mail server by address ("a@[127.0.0.1]") rather than by a
    domain: valid mail, but a way to aim codes and notices at machines of the network."""
    return value.rpartition("@")[2].startswith("[")
