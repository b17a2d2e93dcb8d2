"""Parts of the page layout (templates/base.html) that read the same for everyone reading a
language: rendered once per language and kept by the process (docs/performance.md, the phone
setup's "A sixth round")."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils import translation
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

register = template.Library()

# (page language, the site's languages) -> the picker's options; a handful of entries.
_options: dict[tuple, SafeString] = {}


@register.simple_tag
def language_options() -> SafeString:
    """The language picker's options, each named in its own language and marked with it, the
    page's language selected."""
    current = translation.get_language()
    key = (current, tuple(settings.LANGUAGES))
    kept = _options.get(key)
    if kept is None:
        if len(_options) > 64:  # languages the site no longer has (settings changed)
            _options.clear()
        kept = format_html_join(
            "",
            '<option value="{}" lang="{}"{}>{}</option>',
            (
                (
                    info["code"],
                    info["code"],
                    " selected" if info["code"] == current else "",
                    info["name_local"],
                )
                for info in (translation.get_language_info(code) for code, _ in settings.LANGUAGES)
            ),
        )
        _options[key] = kept
    return kept
