"""Settings of the audit app, with their defaults (README, "Configuration"). Read through
`app_settings`, lazily (sspr_site/app_settings.py)."""

from __future__ import annotations

from sspr_site.app_settings import AppSettings, Setting

app_settings = AppSettings(
    {
        # `purge_audit` removes older audit events (at least 90 days).
        "AUDIT_RETENTION_DAYS": Setting(400, int),
        # Every audit event also goes to syslog (udp://host:514 or tcp://host:601, RFC 5424),
        # with this facility (10: authpriv).
        "AUDIT_SYSLOG": Setting("", str),
        "AUDIT_SYSLOG_FACILITY": Setting(10, int),
        # Every audit event is also posted there, signed with HMAC-SHA256 with the secret.
        "AUDIT_WEBHOOK_URL": Setting("", str),
        "AUDIT_WEBHOOK_SECRET": Setting("", str),
        # Seconds a syslog or webhook delivery may take.
        "AUDIT_STREAM_TIMEOUT": Setting(5.0, (int, float)),
        # Seconds between the worker's tries of a message; the audit stream is retried the same
        # way. Read by delivery too, which sits above audit (docs/architecture.md, "Layers").
        "DELIVERY_RETRY_INTERVALS": Setting([10, 60, 300, 900], (list, tuple)),
    }
)
