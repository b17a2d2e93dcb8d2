"""How form fields are drawn (settings.FORM_RENDERER).

Django's own field, label, error and widget templates are used in their Jinja2 versions, which
Django ships with the same markup, and so are the project's own widget templates (an app's
`jinja2/<app>/widgets/`): compiled to Python, a field costs a fraction of what the template
language spends on it, and a form page draws several (docs/performance.md). The admin's own
widget templates exist only in the template language and are drawn there, found where Django's
default renderer finds them."""

from __future__ import annotations

from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2

# The templates drawn compiled: Django's own and the project's widgets (methods/forms.py).
COMPILED = ("django/forms/", "methods/widgets/")


class FormRenderer(BaseRenderer):
    def __init__(self):
        self.compiled = Jinja2()
        self.templates = DjangoTemplates()

    def get_template(self, template_name):
        if template_name.startswith(COMPILED):
            return self.compiled.get_template(template_name)
        return self.templates.get_template(template_name)
