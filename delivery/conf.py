"""Settings of the delivery app, with their defaults (README, "Configuration"). Read through
`app_settings`, lazily (sspr_site/app_settings.py). The retry intervals are audit's
(audit/conf.py), which reads them too."""

from __future__ import annotations

from sspr_site.app_settings import AppSettings, Setting

app_settings = AppSettings(
    {
        # How messages leave: "queue" (the RQ worker; settings.py's default with REDIS_URL) or
        # "in_process" (the web process, after the response).
        "DELIVERY": Setting("in_process", str),
        # A queued message not sent within this many seconds: the code page says so, and
        # /readyz reports a backlog.
        "DELIVERY_DUE_SECONDS": Setting(120, int),
        # Seconds a Redis call may take before it fails (requests and /readyz).
        "CACHE_TIMEOUT": Setting(1.0, (int, float)),
    }
)
