"""Phone backends: how text messages and voice calls leave the service.

Shaped like Django's email backends: SSPR_PHONE_BACKEND names one ("console", "file", "locmem",
"twilio", or a dotted path) and get_phone_backend() builds it.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from ..conf import PHONE_BACKENDS, app_settings
from .base import BasePhoneBackend, DeliveryError, DeliveryProblem, PhoneMessage

__all__ = [
    "BasePhoneBackend",
    "DeliveryError",
    "DeliveryProblem",
    "PhoneMessage",
    "get_phone_backend",
]


def backend_path(name: str | None = None) -> str:
    name = name or app_settings.PHONE_BACKEND
    return PHONE_BACKENDS.get(name, name)


def get_phone_backend(name: str | None = None) -> BasePhoneBackend:
    return import_string(backend_path(name))()
