"""The paths of the site's own pages that take no arguments, by URL name, worked out once per
process: Django's reverse() costs about 27 µs a call, and a page names several (a card for
each method on the overview, the steps of a method's pages)."""

from __future__ import annotations

import functools

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language


def path_to(name: str) -> str:
    """reverse(name), for a URL without arguments."""
    # Everything reverse() reads besides the name: the script prefix, the URL configuration
    # and (for language-prefixed URLs) the language.
    return _path(name, get_script_prefix(), get_urlconf(), get_language())


@functools.lru_cache(maxsize=1024)
def _path(name: str, prefix: str, urlconf, language) -> str:
    return reverse(name, urlconf=urlconf)


@receiver(setting_changed, dispatch_uid="sspr_paths")
def _forget(setting, **kwargs):
    if setting == "ROOT_URLCONF":
        _path.cache_clear()
