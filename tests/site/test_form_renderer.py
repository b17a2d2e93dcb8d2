"""Form fields are drawn from compiled field templates (sspr_site/form_renderer.py): what the
browser gets is what Django's own templates give (the project's country list what Django's
select gives), errors and hints tied to their fields, and the admin's own widgets still draw.
A field of a form not sent is kept once drawn: it reads exactly as drawn, and what differs
between two forms (a value, a language, an error) is never shared."""

from __future__ import annotations

import re
from unittest.mock import patch

import pytest
from django import forms
from django.forms.renderers import BaseRenderer, DjangoTemplates, get_default_renderer
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import mark_safe

from methods.code.forms import EmailForm, PhoneForm, ResetEmailForm, ResetPhoneForm
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


# --- Fields of a form not sent, kept -------------------------------------------------------------


class DrawnEachTime(FormRenderer):
    """The same templates, drawn every time: what a kept field must read as."""

    def render(self, template_name, context, request=None):
        return BaseRenderer.render(self, template_name, context, request)


def fields_of(form) -> list[str]:
    return [str(form[name].as_field_group()) for name in form.fields]


def phone_forms(renderer):
    both = (Channel.SMS, Channel.VOICE)
    return [
        PhoneForm(renderer=renderer, allowed_regions=["GB", "DE"], channels=both),
        PhoneForm(renderer=renderer, channels=(Channel.VOICE,)),
        ResetPhoneForm(renderer=renderer, channels=both),
        ResetEmailForm(renderer=renderer),
        CodeForm(renderer=renderer),
        CodeForm(renderer=renderer, auto_id="other_%s"),
    ]


ODD = "+44 <b>\"7700\"</b> & '900'"


@pytest.mark.parametrize("language", ["en", "de", "ar"])
def test_a_field_of_a_form_not_sent_is_kept_and_reads_as_drawn(language):
    keeping = FormRenderer()
    with translation.override(language):
        drawn = [fields_of(form) for form in phone_forms(DrawnEachTime())]
        first = [fields_of(form) for form in phone_forms(keeping)]
        with patch.object(FormRenderer, "get_template", side_effect=AssertionError("drawn")):
            again = [fields_of(form) for form in phone_forms(keeping)]
    assert first == drawn and again == drawn
    assert keeping.kept
    text = " ".join(" ".join(fields) for fields in drawn)
    assert 'aria-describedby="id_region_helptext' in text  # the hint tied to its field


def test_a_value_given_for_the_reader_is_drawn_each_time():
    """A form given a value for its reader (their own number, a name typed on another page)
    is drawn for them alone: never kept, its value escaped."""
    keeping = FormRenderer()
    channels = (Channel.SMS, Channel.VOICE)
    for value in ("+447700900001", "+447700900002", ODD):
        form = PhoneForm(renderer=keeping, channels=channels, initial={"number": value})
        number = fields_of(form)[1]
        shown = number.replace("&#34;", "&quot;").replace("&#39;", "&#x27;")
        assert f'value="{escape(value)}"' in shown
    assert "<b>" not in number
    assert {key[5] for key in keeping.kept} == {"region", "channel"}


def test_what_differs_between_two_forms_is_their_own():
    """Other channels, another language, another hint, another widget, another form's
    settings: each its own markup, from one renderer."""
    keeping = FormRenderer()

    def fields(language="en", channels=(Channel.SMS, Channel.VOICE), **kwargs):
        with translation.override(language):
            return fields_of(PhoneForm(renderer=keeping, channels=channels, **kwargs))

    english, german = fields("en"), fields("de")
    assert english != german and german == fields("de")
    assert len(fields(channels=(Channel.VOICE,))) == 2  # no choice of channel
    assert fields(use_required_attribute=False) != english
    assert 'for="id_number">Phone number</label>' in fields(label_suffix="")[1]
    assert fields(auto_id="other_%s") != english
    with translation.override("en"):
        reset = str(
            ResetPhoneForm(renderer=keeping, channels=(Channel.SMS,))["number"].as_field_group()
        )
    assert "We do not show it" in reset and "We do not show it" not in english[1]

    class Quantity(forms.Form):
        amount = forms.FloatField(localize=True, initial=1.5)
        secret = forms.CharField()

    for language, shown in (("en", 'value="1.5"'), ("de", 'value="1,5"'), ("en", 'value="1.5"')):
        with translation.override(language):
            assert shown in str(Quantity(renderer=keeping)["amount"].as_field_group())
    hidden = Quantity(renderer=keeping)
    hidden.fields["secret"].widget = forms.PasswordInput()
    assert 'type="password"' in str(hidden["secret"].as_field_group())
    assert 'type="text"' in str(Quantity(renderer=keeping)["secret"].as_field_group())
    hinted = Quantity(renderer=keeping)
    hinted.fields["secret"].help_text = "Your own hint"
    assert "Your own hint" in str(hinted["secret"].as_field_group())
    assert "Your own hint" not in str(Quantity(renderer=keeping)["secret"].as_field_group())


def test_values_that_read_alike_to_a_key_are_told_apart():
    """True and 1, text marked safe and plain text: equal to a dict, drawn differently."""
    keeping = FormRenderer()

    class Flag(forms.Form):
        flag = forms.CharField()

    def flag(value):
        form = Flag(renderer=keeping)
        form.fields["flag"].initial = value
        return str(form["flag"].as_field_group())

    assert 'value="True"' in flag(True) and 'value="1"' in flag(1)
    markup = "<b onmouseover=x>"
    flag(mark_safe(markup))  # noqa: S308 - a page's own markup, drawn as it is
    assert "&lt;b onmouseover=x&gt;" in flag(markup)  # typed text: escaped all the same


def test_a_form_sent_is_drawn_each_time():
    keeping = FormRenderer()
    sent = CodeForm({"code": "12"}, renderer=keeping)
    assert 'aria-invalid="true"' in fields_of(sent)[0]
    assert not keeping.kept
    # The next person's form is not refused with it.
    assert "aria-invalid" not in fields_of(CodeForm(renderer=keeping))[0]
    assert len(keeping.kept) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de", "ar"])
def test_the_questions_lists_are_kept_by_the_questions_they_list(make_user, language):
    """The lists of questions come from the database: kept by the questions they list, so
    one an administrator adds, words again or withdraws shows at once."""
    from methods.questions.forms import QuestionsForm
    from methods.questions.models import SecurityQuestion

    user = make_user("quinn")
    keeping = FormRenderer()

    def both():
        with translation.override(language):
            drawn = fields_of(QuestionsForm(renderer=DrawnEachTime(), count=3, user=user))
            kept = fields_of(QuestionsForm(renderer=keeping, count=3, user=user))
        assert kept == drawn
        return kept

    before = both()
    assert {key[5] for key in keeping.kept} == {
        f"{kind}_{n}" for kind in ("question", "answer") for n in (1, 2, 3)
    }
    with (
        translation.override(language),
        patch.object(FormRenderer, "get_template", side_effect=AssertionError("drawn")),
    ):
        assert fields_of(QuestionsForm(renderer=keeping, count=3, user=user)) == before
    own = SecurityQuestion.objects.create(text='Your first <pet> & "friend"?', active=True)
    added = both()
    assert "Your first &lt;pet&gt; &amp; &quot;friend&quot;?" in added[0]
    own.text = "Your first teacher?"
    own.save()
    assert "Your first teacher?" in both()[0]
    own.active = False
    own.save()
    assert both() == before


def test_a_changed_setting_draws_every_field_anew(settings):
    keeping = get_default_renderer()
    fields_of(CodeForm(renderer=keeping))
    assert keeping.kept
    settings.LANGUAGE_CODE = "de"
    assert not keeping.kept
