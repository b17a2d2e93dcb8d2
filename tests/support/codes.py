"""Reading a one-time code back as the person who received it would: the last code sent to the
test outboxes (`methods.backends.locmem` for phones, Django's `mail.outbox` for email; a voice
call's digits are read out one by one), and the latest one written to the file outboxes the
browser tests use (the `outboxes` fixture of tests/e2e)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from django.core import mail

from methods.backends import locmem


def last_code(text: str) -> str:
    match = re.search(r"(?<!\d)(\d{6})(?!\d)", text)
    assert match, text
    return match.group(1)


def last_phone_code(outbox=None) -> str:
    message = (outbox if outbox is not None else locmem.outbox)[-1]
    if message.kind == "voice":
        digits = re.findall(r"(?<!\d)(\d)\.", message.text)
        return "".join(digits[:6])
    return last_code(message.text)


def last_email_code() -> str:
    return last_code(mail.outbox[-1].body)


def arrived(read, what: str, seconds: float = 10.0):
    """`read()` once the message is there. Without a queue the site sends a code once its page
    has gone out, so the browser may show the code page a moment before the message is
    written: a person waits for their text; so does the test."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return read()
        except (IndexError, ValueError, AttributeError):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} arrived within {seconds:.0f} s") from None
            time.sleep(0.05)


def phone_messages(phone_dir: Path, count: int) -> list[Path]:
    """The texts and calls written so far, once at least `count` have arrived."""

    def read() -> list[Path]:
        found = sorted(phone_dir.glob("*.json"))
        if len(found) < count:
            raise IndexError(len(found))
        return found

    return arrived(read, f"{count} texts or calls")


def message_count(folder: Path) -> int:
    """How many texts, calls or emails `folder` holds: before asking for a code, so that
    `latest_phone_code(..., more_than=…)` waits for the new one, not an earlier one."""
    return len(list(folder.glob("*.json"))) + len(list(folder.glob("*.log")))


def latest_phone_code(phone_dir: Path, more_than: int = 0) -> str:
    def read() -> str:
        found = sorted(phone_dir.glob("*.json"))
        if len(found) <= more_than:
            raise IndexError(len(found))
        newest = found[-1]
        message = json.loads(newest.read_text())
        if message["kind"] == "voice":
            digits = re.findall(r"(?<!\d)(\d)\.", message["text"])[:6]
            if len(digits) < 6:
                raise ValueError("not a whole code")
            return "".join(digits)
        return re.search(r"\b(\d{6})\b", message["text"]).group(1)

    return arrived(read, "text or call")


def latest_email_code(mail_dir: Path) -> str:
    def read() -> str:
        newest = max(mail_dir.glob("*.log"), key=lambda path: path.stat().st_mtime_ns)
        return re.findall(r"\b(\d{6})\b", newest.read_text())[-1]

    return arrived(read, "email")
