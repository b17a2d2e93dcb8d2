"""Settings of the registration app, with their defaults. Read through `app_settings`, lazily
(sspr_site/app_settings.py)."""

from __future__ import annotations

from sspr_site.app_settings import AppSettings, Setting

app_settings = AppSettings(
    {
        # Changing or removing a verified method needs a password check this recent (10 min).
        "RECENT_PASSWORD_SECONDS": Setting(600, int),
        # Failed sign-ins per hour from one address before it is refused (the sign-in pages).
        "SIGN_IN_FAILURES_PER_IP": Setting(30, int),
    }
)
