"""The project's settings read by more than one app, and sspr_site's own (README,
"Configuration"). Read through `app_settings`, lazily (sspr_site/app_settings.py)."""

from __future__ import annotations

from sspr_site.app_settings import AppSettings, Setting

app_settings = AppSettings(
    {
        # The address used in every absolute link (emails, notices, reminders); never the
        # request's Host header.
        "SITE_URL": Setting("http://localhost:8000", str),
        # Passkeys: the domain keys belong to, and the addresses pages are served from; both
        # follow SITE_URL in sspr_site/settings.py unless set (docs/security.md §38).
        "WEBAUTHN_RP_ID": Setting("localhost", str),
        "WEBAUTHN_ORIGINS": Setting(["http://localhost:8000"], (list, tuple)),
        # Addresses or networks of the reverse proxies whose X-Forwarded-For is believed.
        "TRUSTED_PROXIES": Setting([], (list, tuple)),
        # Keys that encrypt stored secrets the service must read back, newest first; empty:
        # derived from the secret key (sspr_site.field_keys).
        "FIELD_KEYS": Setting([], (list, tuple)),
        # The region of phone numbers written without a country code (two letters, e.g. GB):
        # preselected beside the phone number fields, and used for the office numbers the
        # directory gives (empty: only numbers with a country code are mirrored).
        "DEFAULT_PHONE_REGION": Setting("", str),
        # How many worker processes serve the site (WEB_CONCURRENCY).
        "WEB_WORKERS": Setting(1, int),
        # Networks whose clients may read /metrics, or a bearer token that may.
        "METRICS_NETWORKS": Setting([], (list, tuple)),
        "METRICS_TOKEN": Setting("", str),
        # "json": one JSON object per log line and one line per request.
        "LOG_FORMAT": Setting("plain", str),
        # `manage.py probe_reset`: the test account it resets, and where its code is read
        # (empty: "file").
        "PROBE_USERNAME": Setting("", str),
        "PROBE_MAILBOX": Setting("", str),
        # On PostgreSQL, the lookups every request makes are prepared statements of each
        # connection (sspr_site/compiled_query.py); off behind a pooler that cannot keep them.
        "DB_PREPARED_STATEMENTS": Setting(True, bool),
    }
)
