from __future__ import annotations

import sys

from .base import BasePhoneBackend, PhoneMessage


class PhoneBackend(BasePhoneBackend):
    """Print each message to standard output: for development, like Django's console email."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, message: PhoneMessage) -> None:
        self.stream.write(
            f"--- {message.kind} to {message.to} ({message.language}) ---\n{message.text}\n---\n"
        )
        self.stream.flush()
