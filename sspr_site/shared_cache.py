"""The shared cache as pages use it for what they can also compute: an entry that cannot be read
is computed again, one that cannot be written or cleared is logged, and a cache that cannot be
reached never stops a page (its entries end by themselves)."""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger("sspr.cache")


def read(key: str):
    """The entry, or None when there is none or the cache cannot be reached."""
    try:
        return cache.get(key)
    except Exception:  # unreachable: the caller computes it
        return None


def keep(key: str, value, seconds: int) -> None:
    try:
        cache.set(key, value, timeout=seconds)
    except Exception as error:  # unreachable: the next read computes it again
        logger.warning("%s not kept: %s", key, type(error).__name__)


def forget(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as error:  # unreachable: the entry ends by itself
        logger.warning("%s not cleared: %s", key, type(error).__name__)
