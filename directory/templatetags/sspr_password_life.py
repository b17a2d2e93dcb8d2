"""The admin home's line on expiry reminders, and whether the site is in directory mode."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def directory_mode() -> bool:
    from directory.accounts import config

    return config().enabled


@register.simple_tag
def expiry_reminders_summary() -> dict | None:
    """The last reminder run (its time, how many were reminded, how many passwords expired
    within 14 days as it read them): one query, never the directory."""
    from directory.accounts import config

    if not config().enabled:
        return None
    # Only in directory mode: the reminders read the directory, and the embedded mode runs
    # without its client library (tests/test_project.py).
    from directory.expiry_reminders import last_run

    event = last_run()
    if event is None:
        return {"never": True}
    return {
        "at": event.created_at,
        "reminded": event.details.get("count", 0),
        "soon": event.details.get("expiring_soon", 0),
    }
