"""How form fields are drawn (settings.FORM_RENDERER).

Django's own field, label, error and widget templates are used in their Jinja2 versions, which
Django ships with the same markup, and so are the project's own widget templates (an app's
`jinja2/<app>/widgets/`): compiled to Python, a field costs a fraction of what the template
language spends on it, and a form page draws several (docs/performance.md). The admin's own
widget templates exist only in the template language and are drawn there, found where Django's
default renderer finds them.

A field of a form that was not sent (nothing typed, no errors) is drawn the same for everyone
reading the same language: its markup is kept, keyed by everything it is drawn from (the form's
and the field's classes and settings, the widget's, the value shown), and given again without
drawing it (docs/performance.md, "A fourteenth look"). A field showing a value given to the form
for its reader, or drawn from anything that cannot be part of such a key (a query, an object of
its own), is drawn each time.
tests/site/test_form_renderer.py holds kept fields to what drawing them gives."""

from __future__ import annotations

from itertools import chain

from django import forms
from django.core.signals import setting_changed
from django.db.models.query import QuerySet
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2
from django.utils import timezone, translation
from django.utils.choices import BaseChoiceIterator, CallableChoiceIterator
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import gettext_noop

# A label that ends in one of these takes no colon after it (Django's rule, "What do you
# need?"); each language lists its own in the site's catalogue ("؟" in Arabic, "？" in
# Japanese), as Django's own catalogues do not.
gettext_noop(":?.!")

# The templates drawn compiled: Django's own and the project's widgets (methods/forms.py).
COMPILED = ("django/forms/", "methods/widgets/")
FIELD = "django/forms/field.html"
# What a field's own attributes hold that never shows in a form not sent.
_NOT_DRAWN = {"widget", "validators", "error_messages", "_choices"}
# Values taken into a key with their type: True and 1, or text marked safe and plain text,
# read the same to a dict but are drawn differently.
_PLAIN = frozenset({str, int, float, bool, type(None), type})
_TEXT, _TEXT_OR_TUPLE = frozenset({str}), frozenset({str, tuple})


class _Unkeyable(Exception):
    pass


def _frozen(value):
    """`value` as part of a key: plain values with their type, translatable text as the text it
    reads in the current language, tuples for lists and dicts; _Unkeyable for anything else."""
    if type(value) in _PLAIN:
        return (type(value), value)
    if isinstance(value, Promise):
        text = str(value)
        return (type(text), text)
    if isinstance(value, CallableChoiceIterator):
        value = value.func()  # what the choices are made from, as given
    elif isinstance(value, BaseChoiceIterator) and not isinstance(value, ModelChoiceIterator):
        value = tuple(value)
    if type(value) is tuple and _all_text(value):
        return value  # a long list of choices, at once
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return tuple((key, _frozen(item)) for key, item in sorted(value.items()))
    raise _Unkeyable


def _all_text(items: tuple) -> bool:
    """Whether every item is plain text, or a tuple of plain texts (a list of choices); the
    types counted without a loop in Python, as a list of some 245 countries is checked on
    every phone form."""
    return (
        set(map(type, items)) <= _TEXT_OR_TUPLE
        and set(map(type, chain.from_iterable(items))) <= _TEXT
    )


def _key(field) -> tuple | None:
    form, widget = field.form, field.field.widget
    # A field whose choices come from the database says what they are drawn from
    # (`kept_choices()`) and where it holds them (`choices_held_in`); one that does not is
    # drawn each time.
    kept_choices = getattr(field.field, "kept_choices", None)
    held = set(getattr(field.field, "choices_held_in", ()))
    # A form that was sent, or one given an error of its own, is drawn each time; so is a field
    # showing a value given to this form for its reader (`initial`: their own number, the name
    # they typed on another page), which is theirs alone and would only crowd the others out.
    if (
        form.is_bound
        or form._errors
        or form.initial.get(field.name) not in (None, "")
        or (kept_choices is None and isinstance(getattr(field.field, "queryset", None), QuerySet))
    ):
        return None
    try:
        return (
            translation.get_language(),
            timezone.get_current_timezone_name(),
            type(form),
            type(field),
            type(widget),
            field.html_name,
            _frozen(form.auto_id),
            _frozen(form.label_suffix),
            form.use_required_attribute,
            _frozen(getattr(form, "required_css_class", None)),
            _frozen(
                {
                    k: v
                    for k, v in vars(field.field).items()
                    if k not in _NOT_DRAWN and k not in held
                }
            ),
            _frozen(
                {
                    k: v
                    for k, v in vars(widget).items()
                    if not (kept_choices and k in ("choices", "_choices"))
                }
            ),
            kept_choices() if kept_choices else None,
            _frozen(field.value()),
        )
    except _Unkeyable:
        return None


class BoundField(forms.BoundField):
    """Django's, and: a form refused as a whole (a name and password that do not match, answers
    that are not right), with one of the error codes its class lists in `refused_as_a_whole`,
    marks each of its fields invalid and described by the page's error summary
    (includes/form_errors.html), so that a screen reader moving back to a field hears why it
    was refused. Other errors of the form (a limit reached, a directory down) mark none."""

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        codes = getattr(self.form, "refused_as_a_whole", ())
        if (
            codes
            and self.form.is_bound
            and not widget.is_hidden
            and not self.errors
            and any(error.code in codes for error in self.form.non_field_errors().as_data())
        ):
            attrs["aria-invalid"] = "true"
            own = attrs.get("aria-describedby") or widget.attrs.get("aria-describedby")
            described = [own or self.aria_describedby, "error-summary"]
            attrs["aria-describedby"] = " ".join(part for part in described if part)
        return attrs


class FormRenderer(BaseRenderer):
    bound_field_class = BoundField

    def __init__(self):
        self.compiled = Jinja2()
        self.templates = DjangoTemplates()
        self.kept: dict[tuple, str] = {}
        setting_changed.connect(self._forget, weak=True)

    def _forget(self, **_kwargs) -> None:
        self.kept.clear()

    def get_template(self, template_name):
        if template_name.startswith(COMPILED):
            return self.compiled.get_template(template_name)
        return self.templates.get_template(template_name)

    def render(self, template_name, context, request=None):
        field = context.get("field") if template_name == FIELD else None
        key = _key(field) if field is not None and len(context) == 1 else None
        if key is None:
            return super().render(template_name, context, request)
        text = self.kept.get(key)
        if text is None:
            if len(self.kept) > 512:  # values no longer shown
                self.kept.clear()
            text = self.kept[key] = SafeString(super().render(template_name, context, request))
        return text
