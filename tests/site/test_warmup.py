"""A web process loads the site before its first request (sspr_site/warmup.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.forms.renderers import get_default_renderer
from django.template.loader import get_template

from sspr_site.warmup import project_templates

ROOT = Path(__file__).resolve().parents[2]


def _in_a_served_process(code: str) -> subprocess.CompletedProcess:
    """`code` run by a fresh Python, as a web process starts (importing sspr_site.wsgi)."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": "warm-up-test-" + "k" * 40},
    )


def test_every_template_of_the_project_compiles():
    names = project_templates()
    assert "passwordreset/start.html" in names and "base.html" in names
    for name in names:
        get_template(name)  # a syntax error fails here, not on a person's page
    compiled = project_templates("jinja2")
    assert compiled == ["methods/widgets/one_pass_select.html"]
    for name in compiled:
        get_default_renderer().get_template(name)


def test_the_served_application_starts_with_views_templates_and_countries_loaded():
    """And the forms' own templates, and the list of common passwords."""
    code = (
        "import sys, sspr_site.wsgi;"
        "from django.template import engines;"
        "from methods.code.phone_numbers import _all_region_choices;"
        "loader = engines['django'].engine.template_loaders[0];"
        "from django.forms.renderers import get_default_renderer;"
        "from django.contrib.auth.password_validation import get_default_password_validators;"
        "renderer = get_default_renderer();"
        "compiled = [name for _loader, name in renderer.compiled.engine.env.cache.keys()];"
        "print('passwordreset.views' in sys.modules, 'registration.views' in sys.modules,"
        " 'passwordreset/start.html' in loader.get_template_cache,"
        " _all_region_choices.cache_info().currsize >= 10,"
        " 'django/forms/widgets/input.html' in compiled,"
        " 'methods/widgets/one_pass_select.html' in compiled,"
        " get_default_password_validators.cache_info().currsize == 1)"
    )
    result = _in_a_served_process(code)
    assert result.stdout.split() == ["True"] * 7, result.stderr[-2000:]


def test_the_loaded_site_is_set_aside_from_the_garbage_collector():
    """What loading made lives as long as the process: the collector's passes skip it, and
    still collect what requests leave behind."""
    code = (
        "import gc, sspr_site.wsgi;"
        "frozen = gc.get_freeze_count();"
        "young = len(gc.get_objects());"
        "a = []; a.append(a); del a;"
        "print(frozen > 50_000, young < frozen / 5, gc.isenabled(), gc.collect() >= 1)"
    )
    result = _in_a_served_process(code)
    assert result.stdout.split() == ["True"] * 4, (result.stdout, result.stderr[-2000:])
