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
