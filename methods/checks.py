"""System checks: a bad phone backend setting is reported at start-up, not at the first send."""

from __future__ import annotations

from django.core.checks import Error, register
from django.utils.module_loading import import_string

from .backends import backend_path
from .backends.base import BasePhoneBackend


@register()
def phone_backend_setting(app_configs, **kwargs):
    path = backend_path()
    try:
        backend = import_string(path)
    except ImportError:
        return [
            Error(
                f"SSPR_PHONE_BACKEND names {path!r}, which cannot be imported.",
                hint="Use console, file, locmem, twilio or a dotted path to a backend class.",
                id="methods.E001",
            )
        ]
    if not (isinstance(backend, type) and issubclass(backend, BasePhoneBackend)):
        return [
            Error(
                f"{path!r} is not a phone backend.",
                hint="A backend subclasses methods.backends.base.BasePhoneBackend.",
                id="methods.E002",
            )
        ]
    return []
