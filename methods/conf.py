"""Settings of the methods app, each with its default. Read through `app_settings`, lazily
(sspr_site/app_settings.py), so tests can override them."""

from __future__ import annotations

from os import PathLike

from sspr_site.app_settings import AppSettings, Setting

app_settings = AppSettings(
    {
        # A code is 6 digits, valid 10 minutes (docs/security.md §1-2).
        "CODE_DIGITS": Setting(6, int),
        "CODE_VALID_SECONDS": Setting(600, int),
        # Times a person may ask for another 10 minutes for a live code (WCAG 2.2, 2.2.1: ten).
        "CODE_EXTENSIONS": Setting(10, int),
        # Wrong entries that void a code (docs/security.md §6).
        "CODE_MAX_ATTEMPTS": Setting(5, int),
        # Consecutive failures across all codes of one method and purpose before it locks (6).
        "CODE_MAX_FAILURES": Setting(100, int),
        # Backoff after a failure: factor * 2^(n-1) seconds (7).
        "CODE_THROTTLE_FACTOR": Setting(1, (int, float)),
        # Seconds before another code may be sent (8).
        "CODE_RESEND_SECONDS": Setting(30, int),
        # Sends allowed per hour, counted in the shared cache (9), and the window they count in.
        "SEND_LIMITS": Setting(
            {"user": 10, "destination": 5, "ip": 30, "prefix": 300, "overall": 2000}, dict
        ),
        "SEND_LIMIT_WINDOW": Setting(3600, int),
        # Changing methods needs a proof with a registered method this recent (methods/proof.py).
        "METHOD_PROOF_SECONDS": Setting(300, int),
        # Phone backend: a short name (PHONE_BACKENDS) or a dotted path to a class; the `file`
        # backend's folder (sspr_site/settings.py: var/phone).
        "PHONE_BACKEND": Setting("console", str),
        "PHONE_FILE_PATH": Setting("", (str, PathLike)),
        # The apps that mount the methods' own pages (methods/pages.py): reached by these module
        # paths, never imported by a method (README, "Architecture").
        "METHOD_SETUP_HOST": Setting("registration.pages", str),
        "METHOD_RESET_HOST": Setting("passwordreset.host", str),
    }
)

PHONE_BACKENDS = {
    "console": "methods.backends.console.PhoneBackend",
    "file": "methods.backends.filebased.PhoneBackend",
    "locmem": "methods.backends.locmem.PhoneBackend",
    "twilio": "methods.backends.twilio.PhoneBackend",
}
