"""A template rendered once per language and shape, then filled in with each page's values.

Some blocks are on every page and read almost the same for everyone: the layout's header and
footer, a reset's time limit. Rendering one in the template language costs a few tenths of a
millisecond (its sentences translated, its tags run), each time, for text that changes only with
the language and with which of its parts show (docs/performance.md, "A thirteenth look"). A
`Shape` renders its template once per process for each language and shape, with a marker in
place of each value that differs from page to page, and gives each page that text with its own
values put in, escaped as the template would escape them.

The rule that keeps this right: the template only prints a value named in `values`; anything it
tests (`{% if %}`) is in `shape`, whose values are part of the key (a value in both is tested
only for being there or not). tests/site/test_shapes.py holds each shaped template to what the
template itself renders.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

_MARK = "\x00shape:{}\x00"  # a request never holds NUL (sspr_site/limits.py), nor a catalogue


class Shape:
    def __init__(self, template: str, *, values: tuple[str, ...], shape: tuple[str, ...] = ()):
        self.template = template
        self.values = values
        self.shape = shape
        self._rendered: dict[tuple, str] = {}

    def key(self, data: dict) -> tuple:
        return (
            translation.get_language(),
            *(
                bool(data.get(name)) if name in self.values else data.get(name)
                for name in self.shape
            ),
        )

    def render(self, data: dict) -> SafeString:
        key = self.key(data)
        text = self._rendered.get(key)
        if text is None:
            if len(self._rendered) > 256:  # shapes of values no longer in use
                self._rendered.clear()
            marked = {
                **data,
                **{
                    name: _MARK.format(name)
                    for name in self.values
                    # A value the shape tests is marked only where it is there.
                    if name not in self.shape or data.get(name)
                },
            }
            text = self._rendered[key] = render_to_string(self.template, marked)
        for name in self.values:
            mark = _MARK.format(name)
            if mark in text:
                text = text.replace(mark, conditional_escape(data.get(name, "")))
        return mark_safe(text)  # noqa: S308 - the template's own markup, and values escaped here
