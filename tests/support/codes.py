"""Reading a one-time code back as the person who received it would: the last code sent to the
test outboxes (`methods.backends.locmem` for phones, Django's `mail.outbox` for email; a voice
call's digits are read out one by one), and the latest one written to the file outboxes the
browser tests use (the `outboxes` fixture of tests/e2e)."""

from __future__ import annotations

import json
import re
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


def latest_phone_code(phone_dir: Path) -> str:
    newest = sorted(phone_dir.glob("*.json"))[-1]
    message = json.loads(newest.read_text())
    if message["kind"] == "voice":
        return "".join(re.findall(r"(?<!\d)(\d)\.", message["text"])[:6])
    return re.search(r"\b(\d{6})\b", message["text"]).group(1)


def latest_email_code(mail_dir: Path) -> str:
    newest = max(mail_dir.glob("*.log"), key=lambda path: path.stat().st_mtime_ns)
    return re.findall(r"\b(\d{6})\b", newest.read_text())[-1]
