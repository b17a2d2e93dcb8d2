from __future__ import annotations

import enum
from dataclasses import dataclass


class DeliveryProblem(enum.Enum):
    """What went wrong on the way out; the pages turn each into a plain sentence."""

    INVALID_NUMBER = "invalid_number"
    INVALID_ADDRESS = "invalid_address"
    REGION_NOT_ENABLED = "region_not_enabled"
    TOO_MANY_REQUESTS = "too_many_requests"
    UNAVAILABLE = "unavailable"


class DeliveryError(Exception):
    def __init__(self, problem: DeliveryProblem, detail: str = ""):
        super().__init__(problem.value if not detail else f"{problem.value}: {detail}")
        self.problem = problem


@dataclass(frozen=True)
class PhoneMessage:
    """One text message or voice call. `text` is what is sent or spoken."""

    to: str
    kind: str  # "sms" or "voice"
    text: str
    language: str = "en"


class BasePhoneBackend:
    """Send one message. Raise DeliveryError when it cannot leave; never log its text."""

    def send(self, message: PhoneMessage) -> None:
        raise NotImplementedError
