"""System checks for settings that would make the service unsafe or unable to deliver codes."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_from_environment(app_configs, **kwargs):
    if not settings.SECRET_KEY_FROM_ENVIRONMENT:
        return [
            Error(
                "DJANGO_SECRET_KEY is not set; the development key must not be used in production.",
                hint="Set DJANGO_SECRET_KEY to a long random value.",
                id="sspr.E001",
            )
        ]
    return []


def cache_is_shared() -> bool:
    """Whether every worker process sees the same cache (Redis, memcached, a database)."""
    backend = settings.CACHES["default"]["BACKEND"]
    return not backend.endswith(("LocMemCache", "DummyCache"))


@register(Tags.caches, deploy=True)
def shared_cache_for_several_workers(app_configs, **kwargs):
    if settings.SSPR_WEB_WORKERS > 1 and not cache_is_shared():
        return [
            Error(
                f"{settings.SSPR_WEB_WORKERS} workers (WEB_CONCURRENCY) on a per-process cache: "
                "limits, blocks and single-use checks would be counted once per worker.",
                hint="Set REDIS_URL to a Redis server shared by all workers, or run one worker.",
                id="sspr.E002",
            )
        ]
    return []
