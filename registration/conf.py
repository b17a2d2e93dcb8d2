"""Settings of the registration app, with defaults, read lazily."""

from __future__ import annotations

from django.conf import settings


def RECENT_PASSWORD_SECONDS() -> int:  # noqa: N802
    """Changing or removing a verified method needs a password check this recent (10 min)."""
    return getattr(settings, "SSPR_RECENT_PASSWORD_SECONDS", 600)
