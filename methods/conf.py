"""Settings of the methods app, each with its default. Read lazily so tests can override them."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # A code is 6 digits, valid 10 minutes (docs/security.md §1-2).
    "SSPR_CODE_DIGITS": 6,
    "SSPR_CODE_VALID_SECONDS": 600,
    # Times a person may ask for another 10 minutes for a live code (WCAG 2.2, 2.2.1: ten).
    "SSPR_CODE_EXTENSIONS": 10,
    # Wrong entries that void a code (docs/security.md §6).
    "SSPR_CODE_MAX_ATTEMPTS": 5,
    # Consecutive failures across all codes of one method and purpose before it locks (6).
    "SSPR_CODE_MAX_FAILURES": 100,
    # Backoff after a failure: factor * 2^(n-1) seconds (7).
    "SSPR_CODE_THROTTLE_FACTOR": 1,
    # Seconds before another code may be sent (8).
    "SSPR_CODE_RESEND_SECONDS": 30,
    # Sends allowed per hour, counted in the shared cache (9).
    "SSPR_SEND_LIMITS": {
        "user": 10,
        "destination": 5,
        "ip": 30,
        "prefix": 300,
        "overall": 2000,
    },
    "SSPR_SEND_LIMIT_WINDOW": 3600,
    # Changing methods needs a proof with a registered method this recent (methods/proof.py).
    "SSPR_METHOD_PROOF_SECONDS": 300,
    # Phone backend: a short name or a dotted path to a class.
    "SSPR_PHONE_BACKEND": "console",
    "SSPR_PHONE_FILE_PATH": "",
    # The apps that mount the methods' own pages (methods/pages.py): reached by these module
    # paths, never imported by a method (README, "Architecture").
    "SSPR_METHOD_SETUP_HOST": "registration.pages",
    "SSPR_METHOD_RESET_HOST": "passwordreset.host",
}

PHONE_BACKENDS = {
    "console": "methods.backends.console.PhoneBackend",
    "file": "methods.backends.filebased.PhoneBackend",
    "locmem": "methods.backends.locmem.PhoneBackend",
    "twilio": "methods.backends.twilio.PhoneBackend",
}


class _Settings:
    def __getattr__(self, name: str) -> Any:
        key = f"SSPR_{name}"
        if key not in DEFAULTS:
            raise AttributeError(name)
        return getattr(settings, key, DEFAULTS[key])


app_settings = _Settings()
