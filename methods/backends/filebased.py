from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from ..conf import app_settings
from .base import BasePhoneBackend, PhoneMessage


class PhoneBackend(BasePhoneBackend):
    """Write each message as a JSON file in SSPR_PHONE_FILE_PATH (tests and demos read them)."""

    def __init__(self, path: str | None = None):
        self.path = Path(path or app_settings.PHONE_FILE_PATH or "")
        if not str(self.path) or str(self.path) == ".":
            raise ImproperlyConfigured("SSPR_PHONE_FILE_PATH must name a folder.")
        self.path.mkdir(parents=True, exist_ok=True)

    def send(self, message: PhoneMessage) -> None:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
        target = self.path / name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "to": message.to,
                    "kind": message.kind,
                    "language": message.language,
                    "text": message.text,
                },
                ensure_ascii=False,
            )
        )
        os.replace(tmp, target)  # readers never see half a file
