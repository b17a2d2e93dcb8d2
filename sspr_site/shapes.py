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

import re
import weakref

from django.core.signals import setting_changed
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils import translation
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

# A request never holds NUL (sspr_site/limits.py), nor does a catalogue.
_MARK = "\x00shape:{}\x00"
_MARKS = re.compile(r"\x00shape:(\w+)\x00")
_every: weakref.WeakSet = weakref.WeakSet()


class Shape:
    def __init__(self, template: str, *, values: tuple[str, ...], shape: tuple[str, ...] = ()):
        self.template = template
        self.values = values
        self.shape = shape
        self._rendered: dict[tuple, str] = {}
        _every.add(self)

    def key(self, data: dict) -> tuple:
        tested = (
            bool(data.get(name)) if name in self.values else data.get(name) for name in self.shape
        )
        # The addresses the template names ({% url %}) begin with the script's prefix.
        return (translation.get_language(), get_script_prefix(), *tested)

    def forget(self) -> None:
        self._rendered.clear()

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
        # One pass: a value put in is never read again for markers.
        text = _MARKS.sub(lambda found: conditional_escape(data.get(found[1], "")), text)
        return mark_safe(text)  # noqa: S308 - the template's own markup, and values escaped here


def _forget_all(**_kwargs) -> None:
    """A setting changed (the languages, the templates, the addresses): every shape is rendered
    anew."""
    for shape in list(_every):
        shape.forget()


setting_changed.connect(_forget_all)
