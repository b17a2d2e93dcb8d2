"""What a web process loads before its first request (sspr_site/wsgi.py).

Django imports the URL configuration and every view behind it, reads each language's catalogue
and compiles each template on first use (the forms' templates in an engine of their own): in a
fresh gunicorn worker that was about a second of CPU spread over its first requests, and a
second's wait for whoever came first (docs/performance.md, "Resets and registrations per core").
Each app may add its own (`warm_up()` on its app config). gunicorn loads the site once in its
master process (`preload_app`), so this runs once and every worker starts with all of it in
memory, shared with its siblings.

Last, everything loaded so far is set aside from the garbage collector (`gc.freeze()`): it lives
as long as the process, and the collector's passes no longer walk it (about 140,000 objects).
Over a phone setup in process the collector's time went from 0.50 to 0.26 ms. It does not keep
the pages workers share from being copied: counting references writes to them anyway, and a
worker's own memory in the sizing run is the same with it and without (docs/performance.md).
"""

from __future__ import annotations

import gc
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.forms.renderers import get_default_renderer
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.urls import get_resolver
from django.utils import translation


def project_templates(folder: str = "templates") -> list[str]:
    """The names of the project's own templates: its `templates/` and its apps' (`folder`
    "jinja2": the apps' compiled ones, the widgets forms draw)."""
    roots = [Path(name) for name in settings.TEMPLATES[0]["DIRS"]] if folder == "templates" else []
    base = Path(settings.BASE_DIR).resolve()
    for app in apps.get_app_configs():
        found = Path(app.path).resolve() / folder
        if found.is_dir() and base in found.parents:
            roots.append(found)
    names = set()
    for root in roots:
        names.update(str(path.relative_to(root)) for path in root.rglob("*.html"))
    return sorted(names)


def form_templates() -> list[str]:
    """The templates forms render through their own engines (sspr_site/form_renderer.py):
    Django's own form and widget templates and the project's widgets."""
    import django.forms

    root = Path(django.forms.__file__).parent / "templates"
    names = {str(path.relative_to(root)) for path in root.rglob("*.html")}
    names.update(project_templates("jinja2"))
    return sorted(names)


def _compile(get_template_of, names: list[str]) -> None:
    for name in names:
        try:
            get_template_of(name)
        except (TemplateDoesNotExist, TemplateSyntaxError):
            # A template of a page never shown here (a method switched off) is still
            # compiled when it is first asked for, and says then what is wrong.
            continue


def warm_up() -> None:
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 (imports every urls module and view)
    resolver.reverse_dict  # noqa: B018
    for code, _name in settings.LANGUAGES:
        translation.trans_real.translation(code)
    project = project_templates()
    _compile(get_template, project)
    _compile(get_default_renderer().get_template, form_templates())
    # What an app builds on first use and keeps (an app config's `warm_up`).
    for app in apps.get_app_configs():
        if callable(getattr(app, "warm_up", None)):
            app.warm_up()
    gc.collect()  # what loading left behind goes first, not frozen with the rest
    gc.freeze()
