from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = _("Message delivery")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the readiness check of the queue)

    def warm_up(self) -> None:
        """Before the first request (sspr_site/warmup.py): the first message sealed in a
        process sets up the cipher (about 8 ms)."""
        from .sealing import seal, unseal

        unseal(seal({}))
