from __future__ import annotations

from django import template

from helpdesk.words import details_in_words, in_words

register = template.Library()

register.filter("in_words", in_words)
register.filter("details_in_words", details_in_words)
