"""The country selector writes its options in one pass; what the browser gets is what Django's
own select would have given."""

from __future__ import annotations

import re

import pytest
from django import forms

from methods.code.forms import CountrySelect
from methods.code.phone_numbers import region_choices

CHOICES = [("", "Choose a country"), *region_choices()]


def country_select(choices) -> CountrySelect:
    widget = CountrySelect()
    widget.countries = tuple(choices)  # as PhoneForm gives them
    return widget


def normalised(html: str) -> str:
    # Django's fields are drawn from its compiled templates, which write an apostrophe as
    # &#39; where Django's escape() writes &#x27;: the same character to a browser.
    return re.sub(r">\s+<", "><", html.strip()).replace("&#39;", "&#x27;")


@pytest.mark.parametrize("value", [None, "", "GB", "DE", "ZZ", "<script>"])
def test_the_same_markup_as_djangos_select(value):
    attrs = {"id": "id_region", "aria-describedby": "id_region_helptext"}
    ours = country_select(CHOICES).render("region", value, attrs)
    django = forms.Select(choices=CHOICES).render("region", value, attrs)
    assert normalised(ours) == normalised(django)


def test_labels_are_escaped():
    html = country_select([("x", "<b>bold</b> & co")]).render("region", "x")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html and "<b>" not in html


def test_the_phone_form_draws_the_countries_in_the_readers_language_and_checks_them():
    from django.utils import translation

    from methods.code.forms import PhoneForm

    with translation.override("de"):
        german = str(PhoneForm(allowed_regions=["DE", "AT"])["region"])
    english = str(PhoneForm(allowed_regions=["DE", "AT"])["region"])
    assert "Deutschland (+49)" in german and "Österreich (+43)" in german
    assert "Germany (+49)" in english and "Deutschland" not in english
    assert "Afghanistan" not in english  # only the allowed countries
    form = PhoneForm({"region": "FR", "number": "06 12 34 56 78"}, allowed_regions=["DE", "AT"])
    assert not form.is_valid() and "region" in form.errors


@pytest.mark.django_db
@pytest.mark.parametrize("chosen", [None, "first", "<x>"])
def test_the_question_selects_have_the_same_markup_as_djangos(make_user, chosen):
    from methods.forms import OnePassSelect
    from methods.models import SecurityQuestion
    from methods.questions.forms import QuestionsForm

    first = SecurityQuestion.objects.filter(active=True).first()
    value = {"first": str(first.pk), "<x>": "<x>", None: None}[chosen]
    data = {"question_1": value} if value else None
    form = QuestionsForm(data, count=1, user=make_user("quinn"))
    if data:
        form.is_valid()
    field = form.fields["question_1"]
    assert isinstance(field.widget, OnePassSelect)
    ours = str(form["question_1"])
    field.widget = forms.Select(choices=field.choices)
    django = str(form["question_1"])
    assert normalised(ours) == normalised(django)
    assert ours.count("<option") == SecurityQuestion.objects.filter(active=True).count() + 1
