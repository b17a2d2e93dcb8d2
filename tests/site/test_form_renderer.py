"""Form fields are drawn from compiled field templates (sspr_site/form_renderer.py): what the
browser gets is what Django's own templates give (the project's country list what Django's
select gives), errors and hints tied to their fields, and the admin's own widgets still draw."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer

from methods.code.forms import EmailForm, PhoneForm
from methods.code.models import Channel
from methods.forms import CodeForm, OnePassSelect
from sspr_site.form_renderer import FormRenderer


def normalised(html: str) -> str:
    # Between tags, and the apostrophe (&#39; and &#x27; are the same character).
    html = re.sub(r"\s+", " ", html.replace("&#39;", "&#x27;"))
    return re.sub(r">\s+<", "><", html).strip()


def drawn_both_ways(form_class, *args, **kwargs) -> list[tuple[str, str]]:
    pairs = []
    for name in form_class(*args, **kwargs).fields:
        ours = form_class(*args, renderer=FormRenderer(), **kwargs)
        djangos = form_class(*args, renderer=DjangoTemplates(), **kwargs)
        field = djangos.fields[name]
        if isinstance(field.widget, OnePassSelect):  # the project's own: against Django's select
            field.widget = forms.Select(choices=field.choices, attrs=field.widget.attrs)
        pairs.append((str(ours[name].as_field_group()), str(djangos[name].as_field_group())))
    return pairs


def test_the_site_draws_its_fields_with_the_compiled_renderer():
    assert isinstance(get_default_renderer(), FormRenderer)


@pytest.mark.parametrize(
    "data",
    [None, {"region": "", "number": "12", "channel": ""}, {"region": "GB", "number": "<b>"}],
)
def test_a_phone_form_reads_the_same_as_with_djangos_own_templates(data):
    channels = (Channel.SMS, Channel.VOICE)
    pairs = drawn_both_ways(PhoneForm, data, allowed_regions=["GB", "DE"], channels=channels)
    for ours, djangos in pairs:
        assert normalised(ours) == normalised(djangos)
    text = " ".join(ours for ours, _djangos in pairs)
    if data and data["number"] == "<b>":  # what was typed comes back as text
        assert 'value="&lt;b&gt;"' in text and "<b>" not in text
    if data:  # each error is tied to its field, and the hint too
        assert 'aria-invalid="true"' in text and "_error" in text
    assert 'aria-describedby="id_region_helptext' in text


@pytest.mark.django_db
def test_the_email_and_code_forms_read_the_same(make_user):
    user = make_user("rowan", email="rowan@example.org")
    for ours, djangos in [
        *drawn_both_ways(EmailForm, {"email": "rowan@example.org"}, user=user),
        *drawn_both_ways(CodeForm, {"code": "12"}),
        *drawn_both_ways(CodeForm),
    ]:
        assert normalised(ours) == normalised(djangos)


@pytest.mark.django_db
def test_the_admins_own_widgets_still_draw(admin_client):
    """The admin's widget templates exist only in the template language: they are found
    there (a related-object picker on the user's groups, say)."""
    response = admin_client.get("/admin/auth/user/add/")
    assert response.status_code == 200
    page = admin_client.get(f"/admin/auth/user/{response.wsgi_request.user.pk}/change/")
    assert page.status_code == 200
    assert b"related-widget-wrapper" in page.content
