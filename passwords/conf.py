"""Settings of the passwords app, with their defaults (README, "Configuration"). Read through
`app_settings`, lazily (sspr_site/app_settings.py)."""

from __future__ import annotations

from sspr_site.app_settings import AppSettings, Setting

app_settings = AppSettings(
    {
        # The cost of each password and security-answer hash (Argon2id, OWASP's recommendation).
        "ARGON2_TIME_COST": Setting(2, int),
        "ARGON2_MEMORY_KIB": Setting(19456, int),
        "ARGON2_PARALLELISM": Setting(1, int),
        # Hashes at once per worker process, and how long a request waits for a turn before the
        # "busy" page (passwords.hashers).
        "CONCURRENT_HASHES": Setting(2, int),
        "HASH_WAIT_SECONDS": Setting(5.0, (int, float)),
    }
)
