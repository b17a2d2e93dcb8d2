"""Blocks rendered once per language and shape, then filled in (sspr_site/shapes.py): each reads
exactly as its template renders it, for every shape and for values that need escaping, and each
page gets its own values, never another's."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from django.middleware.csrf import _unmask_cipher_token, get_token
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone, translation

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


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de", "ar"])
def test_the_reset_cards_forms_read_as_their_template_renders_them(language, policy):
    from functools import partial

    from methods.registry import REGISTRY
    from passwordreset.views import CARD_FORM

    carded = [m for m in REGISTRY.values() if m.reset_start_form_shape(policy) is not None]
    assert {m.key for m in carded} >= {"phone", "email"}
    with translation.override(language):
        drawn = set()
        for method, attempt, token, hinted in itertools.product(
            carded, ("", "a1b2<&>"), ("t", ODD), (False, True)
        ):
            data = {
                "key": method.key,
                "form_shape": method.reset_start_form_shape(policy),
                "url": method.reset_url(),
                "label": method.label,
                "hinted": hinted,
                "form": partial(
                    method.reset_start_form, policy, auto_id=f"id_{method.key}_%s", hinted=hinted
                ),
                "csrf_token": token,
                "attempt": attempt,
                "form_token": f"f{len(drawn)}",
            }
            shaped = CARD_FORM.render(data)
            assert shaped == render_to_string(CARD_FORM.template, data), (method, attempt)
            assert "\x00" not in shaped and f'id="id_{method.key}_' in shaped
            drawn.add(shaped)
        assert len(drawn) == len(carded) * 8  # each page its own tokens and attempt


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


# The layout's header and footer as base.html wrote them inline before they were shaped.
INLINE = """{% load i18n layout %}<div class="wrap">
      <p class="site-name"><a href="{% url 'registration:overview' %}">{% translate "Self-service password reset" %}</a></p>
      {% if user.is_authenticated %}
      <form method="post" action="{% url 'registration:signout' %}" class="signout">
        {% csrf_token %}
        <span class="who">{% blocktranslate with name=user.get_username %}Signed in as {{ name }}{% endblocktranslate %}</span>
        <button type="submit" class="link-button">{% translate "Sign out" %}</button>
      </form>
      {% endif %}
    </div>|<div class="wrap">
      <form action="{% url 'set_language' %}" method="post" class="language">
        {% csrf_token %}
        <input name="next" type="hidden" value="{% firstof page_address request.get_full_path %}">
        <label for="language">{% translate "Language" %}</label>
        <select name="language" id="language">
          {% language_options %}
        </select>
        <button type="submit" class="button secondary">{% translate "Change" %}</button>
      </form>
      {% if policy.helpdesk_contact %}
        <p>{% translate "Need help? Contact your helpdesk:" %}
          {% with link=policy.helpdesk_link %}{% if link %}<a href="{{ link }}" rel="noopener">{{ policy.helpdesk_contact }}</a>
          {% else %}{{ policy.helpdesk_contact }}{% endif %}{% endwith %}</p>
      {% else %}
        <p>{% translate "Need help? Contact your organisation's helpdesk." %}</p>
      {% endif %}
    </div>"""  # noqa: E501 - as the layout wrote it


def _plain(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', html)
    return re.sub(r"\s+", " ", html).replace(" |", "|").strip()  # an include's last newline


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.parametrize("contact", ["", "Call 0100 <now> & ask"])
def test_the_shaped_header_and_footer_read_as_the_inline_layout_did(
    make_user, rf, signed_in, contact
):
    """The tags with a real page's context (its reader, token, address and policy) give what
    the layout's inline markup gave, anonymous or signed in, with a helpdesk contact or none."""
    from django.contrib.auth.models import AnonymousUser
    from django.template import RequestContext, Template

    from policy.models import Policy

    policy = Policy.load()
    policy.helpdesk_contact = contact
    policy.save()
    request = rf.get("/ssprsetup/?a=1&b=<2>")
    request.user = make_user('Ann "A" & co') if signed_in else AnonymousUser()
    for page_address in ("", "/passwordreset/methods/"):
        context = {"page_address": page_address}
        shaped = Template("{% load layout %}{% site_header %}|{% site_footer %}").render(
            RequestContext(request, context)
        )
        inline = Template(INLINE).render(RequestContext(request, context))
        assert _plain(shaped) == _plain(inline), (signed_in, contact, page_address)
    if signed_in:
        assert "Signed in as Ann &quot;A&quot; &amp; co" in shaped


def test_a_changed_setting_renders_each_shape_anew(settings):
    """The footer holds the language picker: a site given another language lists it at once."""
    data = {"csrf_token": "t", "next": "/", "helpdesk_contact": "", "helpdesk_link": ""}
    with translation.override("en"):
        assert 'value="eo"' not in FOOTER.render(data)  # rendered, and kept
        settings.LANGUAGES = [*settings.LANGUAGES, ("eo", "Esperanto")]
        assert 'value="eo"' in FOOTER.render(data)


@pytest.mark.parametrize("language", ["en", "de", "ar"])
def test_the_code_pages_steps_read_as_their_template_renders_them(language):
    """The step indicator of the code pages (methods/code/setup_views.py), each step current in
    turn, with two steps and with three."""
    from methods.code.setup_views import STEPS

    with translation.override(language):
        for steps in (
            (("start", "Authentication phone"), ("verify", "Enter the code")),
            (("start", ODD), ("send", "Choose text or call"), ("verify", "Enter the code")),
        ):
            keys = [key for key, _label in steps]
            for step in keys:
                data = {"steps": steps, "step": step, "done_steps": keys[: keys.index(step)]}
                assert STEPS.render(data) == render_to_string(STEPS.template, data), data


@pytest.mark.parametrize("language", ["en", "de", "ar"])
def test_a_method_card_reads_as_its_template_renders_it(language):
    """Every state, managed by its owner or not, with and without each part, values that need
    escaping (registration/views.py, CARD)."""
    from methods.base import MethodState
    from registration.views import CARD

    with translation.override(language):
        for state, managed, paused, masked, note, cooling, confirm in itertools.product(
            MethodState,
            (True, False),
            (False, True),
            ("", ODD),
            ("", ODD),
            ("", "5 Dec 2026 <10:00>"),
            ("", "/ssprsetup/phone/confirm/?a=1&b=2"),
        ):
            data = {
                "slug": "phone",
                "label": ODD,
                "summary": "Codes & calls",
                "state": state.value,
                "state_label": state.label,
                "is_set": state != MethodState.NOT_SET,
                "user_managed": managed,
                "paused": paused,
                "masked": masked,
                "note": note,
                "cooling_until": cooling,
                "confirm_url": confirm,
                "setup_url": "/ssprsetup/phone/?x=<1>",
                "csrf_token": "tok",
            }
            shaped = CARD.render(data)
            assert shaped == render_to_string(CARD.template, data), data
            assert "\x00" not in shaped


# The overview's cards as its template wrote them inline before they were shaped.
INLINE_CARDS = """{% load i18n %}{% for card in cards %}{% with s=card.status %}
  <li class="card state-{{ s.state }}">
    <h2>{{ s.method.label }}</h2>
    <p class="state"><span class="badge">{{ s.state.label }}</span></p>
    {% if s.masked %}<p class="value">{{ s.masked }}</p>{% endif %}
    <p class="summary">{{ s.method.summary }}</p>
    {% if card.note %}<p class="note">{{ card.note }}</p>{% endif %}
    {% if card.cooling_until %}<p class="note">{% blocktranslate with when=card.cooling_until|date:"DATETIME_FORMAT" %}New: until {{ when }} it counts for a password reset only together with a method you had before.{% endblocktranslate %}</p>{% endif %}
    {% if s.method.user_managed %}
    <div class="actions">
      {% if s.confirm_url %}
      <form method="post" action="{{ s.confirm_url }}">
        {% csrf_token %}
        <button type="submit" class="button">{% translate "Confirm" %}<span class="visually-hidden"> {{ s.method.label }}</span></button>
      </form>
      {% endif %}
      <a class="button{% if s.is_set %} secondary{% endif %}" href="{{ card.setup_url }}">{% if s.is_set %}{% translate "Change" %}{% else %}{% translate "Set up" %}{% endif %}<span class="visually-hidden"> {{ s.method.label }}</span></a>
      {% if s.is_set %}<a class="button secondary" href="{% url 'registration:method_remove' s.method.slug %}">{% translate "Remove" %}<span class="visually-hidden"> {{ s.method.label }}</span></a>{% endif %}
    </div>
    {% elif not s.is_set %}
    <p class="note">{% translate "Not set. Ask your administrator if you want to use it." %}</p>
    {% endif %}
  </li>
{% endwith %}{% endfor %}"""  # noqa: E501 - as the overview wrote it


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_overviews_cards_read_as_the_inline_overview_did(make_user, rf, policy, language):
    """A person with a method of each kind of standing (verified, new and cooling off, waiting
    for their confirmation, not set, set by an administrator): the shaped cards of the real
    overview read as the overview's inline markup did with the same status."""
    from django.template import RequestContext, Template

    from methods.code.models import AuthenticationEmail, AuthenticationPhone, OfficePhone
    from methods.models import MethodChange
    from registration.flows import registration_status
    from registration.views import _card, _card_note

    policy.set_option("office", "enabled", True)
    policy.save()
    user = make_user("cara")
    AuthenticationEmail.objects.create(
        user=user, email="cara.home@example.net", verified_at=timezone.now() - timedelta(days=30)
    )
    AuthenticationPhone.objects.create(
        user=user, number="+447400123456", verified_at=timezone.now()
    )
    MethodChange.objects.create(
        user=user,
        method="authentication_phone",
        action="added",
        cooling_until=timezone.now() + timedelta(days=2),
    )
    OfficePhone.objects.create(user=user, number="+442079460000")
    waiting = make_user("wade")
    AuthenticationPhone.objects.create(user=waiting, number="+447400123457", prepopulated=True)
    seen, notes, tokens = set(), [], 0
    for person in (user, waiting):
        request = rf.get("/ssprsetup/")
        request.user = person
        with translation.override(language):
            status = registration_status(user=person)
            cards = [
                {
                    "status": s,
                    "setup_url": s.method.setup_url() if s.method.user_managed else "",
                    "note": _card_note(status, s.method),
                    "cooling_until": status.cooling_until(s.method) if s.counts else None,
                }
                for s in status.methods
            ]
            inline = Template(INLINE_CARDS).render(RequestContext(request, {"cards": cards}))
            token = get_token(request) if any(s.confirm_url for s in status.methods) else ""
            shaped = "".join(_card(status, s, token) for s in status.methods)
        assert _plain(shaped) == _plain(inline), person
        # A card's form carries the reader's own token.
        for card_token in re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', shaped):
            assert _unmask_cipher_token(card_token) == request.META["CSRF_COOKIE"]
            tokens += 1
        seen |= {s.state for s in status.methods}
        notes += [c["cooling_until"] for c in cards if c["cooling_until"]]
    assert seen >= {"verified", "waiting", "not_set", "set_by_admin"} and notes and tokens
