"""The country selector writes its options in one pass; what the browser gets is what Django's
own select would have given."""

from __future__ import annotations

import re

import pytest
from django import forms

from methods.forms import CountrySelect
from methods.phones import region_choices

CHOICES = [("", "Choose a country"), *region_choices()]


def normalised(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize("value", [None, "", "GB", "DE", "ZZ", "<script>"])
def test_the_same_markup_as_djangos_select(value):
    attrs = {"id": "id_region", "aria-describedby": "id_region_helptext"}
    ours = CountrySelect(choices=CHOICES).render("region", value, attrs)
    django = forms.Select(choices=CHOICES).render("region", value, attrs)
    assert normalised(ours) == normalised(django)


def test_labels_are_escaped():
    html = CountrySelect(choices=[("x", "<b>bold</b> & co")]).render("region", "x")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html and "<b>" not in html
