"""Settings of the password reset portal, with their defaults. Read through `app_settings`,
lazily (sspr_site/app_settings.py)."""

from __future__ import annotations

from sspr_site.app_settings import AppSettings, Setting

app_settings = AppSettings(
    {
        # The proof-of-work on the first step: the answer is a random counter below this.
        "CAPTCHA_DIFFICULTY": Setting(250_000, int),
        # Resets started per hour for one account, and from one address.
        "RESET_ATTEMPTS_PER_HOUR": Setting(5, int),
        "RESET_STARTS_PER_IP_PER_HOUR": Setting(30, int),
        # Starts from a browser without JavaScript, which cannot do the proof-of-work: a few
        # an hour from one address, and from everywhere together (0 turns them off).
        "STARTS_WITHOUT_SCRIPT_PER_IP_PER_HOUR": Setting(5, int),
        "STARTS_WITHOUT_SCRIPT_PER_HOUR": Setting(100, int),
    }
)
