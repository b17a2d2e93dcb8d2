"""Blocks rendered once per language and shape, then filled in (sspr_site/shapes.py): each reads
exactly as its template renders it, for every shape and for values that need escaping, and each
page gets its own values, never another's."""

from __future__ import annotations

import itertools
import re

import pytest
from django.middleware.csrf import _unmask_cipher_token
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from sspr_site.shapes import Shape
from sspr_site.templatetags.layout import FOOTER, HEADER
from tests.support.people import sign_in

ODD = 'Ann "A" <b>&amp; O\'Neil'


@pytest.mark.parametrize("language", ["en", "de", "ar"])
def test_the_header_and_footer_read_as_their_templates_render_them(language):
    with translation.override(language):
        for username, token in itertools.product(("", "rita", ODD), ("", "tok<&>")):
            data = {"username": username, "csrf_token": token}
            assert HEADER.render(data) == render_to_string(HEADER.template, data), data
        for token, nxt, contact, link in itertools.product(
            ("", "tok"),
            ("/ssprsetup/", '/passwordreset/?a=1&b="2"'),
            ("", "Call 0100 <now>", ODD),
            ("", "https://help.example.org/?q=1&r=2"),
        ):
            data = {
                "csrf_token": token,
                "next": nxt,
                "helpdesk_contact": contact,
                "helpdesk_link": link,
            }
            shaped = FOOTER.render(data)
            assert shaped == render_to_string(FOOTER.template, data), data
            assert "\x00" not in shaped


def test_a_shape_is_kept_per_language():
    """The same values in two languages: each in its own (the shape is not shared)."""
    data = {"csrf_token": "t", "next": "/", "helpdesk_contact": "", "helpdesk_link": ""}
    with translation.override("en"):
        english = FOOTER.render(data)
    with translation.override("de"):
        german = FOOTER.render(data)
    assert english != german
    with translation.override("en"):
        assert FOOTER.render(data) == english


def test_a_value_the_template_tests_is_part_of_the_shape(tmp_path, settings):
    """A shape whose value is there and one whose value is not are two shapes: the markup
    that shows only with the value is not left out, or left in, by the other's text."""
    (tmp_path / "probe.html").write_text("{% if note %}<p>{{ note }}</p>{% endif %}[{{ n }}]")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    shape = Shape("probe.html", values=("note", "n"), shape=("note",))
    assert shape.render({"note": "", "n": 1}) == "[1]"
    assert shape.render({"note": "a<b", "n": 2}) == "<p>a&lt;b</p>[2]"
    assert shape.render({"note": "", "n": 3}) == "[3]"


@pytest.mark.django_db
def test_each_page_shows_its_own_person_and_token(make_user):
    """Two people signed in at once: each page names its own reader and carries its own
    token, though both come from the one rendered shape."""
    make_user("rita")
    make_user("sam")
    pages = {}
    for name in ("rita", "sam"):
        client = Client()
        sign_in(client, name)
        page = client.get("/ssprsetup/").content.decode()
        pages[name] = page
        assert f"Signed in as {name}" in page
        secret = client.cookies["csrftoken"].value
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert len(tokens) >= 2  # sign out, language
        # Each form's token is the reader's own secret, masked.
        assert {_unmask_cipher_token(token) for token in tokens} == {secret}
    assert "Signed in as sam" not in pages["rita"]
    assert "Signed in as rita" not in pages["sam"]
