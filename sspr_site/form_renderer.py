"""How form fields are drawn (settings.FORM_RENDERER).

Django's own field, label, error and widget templates are used in their Jinja2 versions, which
Django ships with the same markup: compiled to Python, a field costs a fraction of what the
template language spends on it, and a form page draws several (docs/performance.md). Any other
widget template (the admin's, the project's own under `methods/widgets/`) stays in the template
language, found where Django's default renderer finds it."""

from __future__ import annotations

from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2

DJANGOS_OWN = "django/forms/"


class FormRenderer(BaseRenderer):
    def __init__(self):
        self.compiled = Jinja2()
        self.templates = DjangoTemplates()

    def get_template(self, template_name):
        if template_name.startswith(DJANGOS_OWN):
            return self.compiled.get_template(template_name)
        return self.templates.get_template(template_name)
