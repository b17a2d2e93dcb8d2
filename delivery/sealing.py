"""Job arguments are sealed (encrypted and authenticated) before they reach Redis: a message
holds a code, and nothing in the shared cache or the queue may let it be read back."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet
from django.utils.crypto import salted_hmac


def _fernet() -> Fernet:
    key = salted_hmac("delivery.sealing", "queue", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data).encode()).decode()


def unseal(token: str, *, max_age: int | None = None) -> dict[str, Any]:
    return json.loads(_fernet().decrypt(token.encode(), ttl=max_age))
