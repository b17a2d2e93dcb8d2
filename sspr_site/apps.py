from __future__ import annotations

from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "sspr_site"
    verbose_name = "Site"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
