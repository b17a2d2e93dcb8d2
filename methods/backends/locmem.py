from __future__ import annotations

from .base import BasePhoneBackend, PhoneMessage

outbox: list[PhoneMessage] = []


class PhoneBackend(BasePhoneBackend):
    """Keep messages in `methods.backends.locmem.outbox`, for unit tests."""

    def send(self, message: PhoneMessage) -> None:
        outbox.append(message)
