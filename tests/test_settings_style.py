"""The project's own settings are read one way (docs/architecture.md, "Where settings are read"):
each app's `conf.py` lists the `SSPR_…` settings it reads with their defaults and kinds, and code
reads them through that `app_settings`, never from django.conf.settings."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_FOLDERS = {"tests", "benchmarks", "var", ".venv", "migrations", "node_modules", "static"}
APPS_WITH_SETTINGS = [
    "sspr_site",
    "audit",
    "passwords",
    "delivery",
    "directory",
    "methods",
    "registration",
    "passwordreset",
]


def _project_files() -> list[Path]:
    files = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIPPED_FOLDERS or part.startswith(".") for part in parts[:-1]):
            continue
        if path.name == "conf.py" or parts == ("sspr_site", "settings.py"):
            continue
        files.append(path)
    return files


def _is_settings(node: ast.expr) -> bool:
    """`settings`, `django_settings`, `conf.settings`…: a name for django.conf.settings."""
    if isinstance(node, ast.Name):
        return node.id.endswith("settings")
    return isinstance(node, ast.Attribute) and node.attr == "settings"


def _names_a_setting(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.startswith("SSPR_")
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return isinstance(first, ast.Constant) and str(first.value).startswith("SSPR_")
    return False


def direct_reads(source: str) -> list[int]:
    """Lines reading an SSPR_ setting from django.conf.settings: `settings.SSPR_X`,
    `getattr(settings, "SSPR_X", …)`, `hasattr(…)`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("SSPR_"):
            if _is_settings(node.value):
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "hasattr"}
            and len(node.args) >= 2
            and _is_settings(node.args[0])
            and _names_a_setting(node.args[1])
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_scan_finds_each_way_of_reading_a_setting_directly():
    source = (
        "from django.conf import settings\n"
        "a = settings.SSPR_SITE_URL\n"
        'b = getattr(settings, "SSPR_LOG_FORMAT", "plain")\n'
        "c = getattr(\n    settings,\n    'SSPR_X',\n)\n"
        'd = getattr(django_settings, f"SSPR_{name}")\n'
        "e = app_settings.SITE_URL\n"
        '"""settings.SSPR_SITE_URL in a docstring is words, not a read."""\n'
    )
    assert direct_reads(source) == [2, 3, 4, 8]


def test_no_code_reads_a_project_setting_from_django_settings():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _project_files()
        for line in direct_reads(path.read_text(encoding="utf-8"))
    ]
    assert not found, (
        "Read these through the app's conf.app_settings (docs/architecture.md, 'Where settings "
        "are read'):\n" + "\n".join(found)
    )


def _app_settings() -> dict:
    return {app: import_module(f"{app}.conf").app_settings for app in APPS_WITH_SETTINGS}


def test_every_app_with_settings_has_its_app_settings():
    from sspr_site.app_settings import AppSettings

    for app, app_settings in _app_settings().items():
        assert isinstance(app_settings, AppSettings), app
        assert app_settings.specs, app


def test_no_setting_is_listed_by_two_apps():
    owners: dict[str, list[str]] = {}
    for app, app_settings in _app_settings().items():
        for name in app_settings.specs:
            owners.setdefault(name, []).append(app)
    assert {name: apps for name, apps in owners.items() if len(apps) > 1} == {}


def test_an_unknown_name_is_refused():
    from methods.conf import app_settings

    with pytest.raises(AttributeError):
        app_settings.CODE_VALID_MINUTES


def test_a_setting_is_read_again_on_every_access(settings):
    from methods.conf import app_settings

    settings.SSPR_CODE_VALID_SECONDS = 61
    assert app_settings.CODE_VALID_SECONDS == 61
    settings.SSPR_CODE_VALID_SECONDS = 62
    assert app_settings.CODE_VALID_SECONDS == 62
    del settings.SSPR_CODE_VALID_SECONDS
    assert app_settings.CODE_VALID_SECONDS == 600


def test_a_default_handed_out_cannot_be_changed_by_its_reader(settings):
    from methods.conf import app_settings

    del settings.SSPR_SEND_LIMITS
    app_settings.SEND_LIMITS["user"] = 10_000
    assert app_settings.SEND_LIMITS["user"] == 10


def test_the_check_passes_on_the_settings_as_they_are():
    from sspr_site.checks import project_settings_kinds

    assert project_settings_kinds(None) == []
    call_command("check")


def test_the_check_refuses_a_value_of_the_wrong_kind(settings):
    settings.SSPR_CODE_VALID_SECONDS = "ten"
    settings.SSPR_LOCKOUT_FAILURES = True  # a bool is not a number here
    settings.SSPR_AUDIT_WEBHOOK_SECRET = b"not-shown-anywhere"
    from sspr_site.checks import project_settings_kinds

    errors = project_settings_kinds(None)

    assert {error.id for error in errors} == {"sspr.E030"}
    messages = "\n".join(f"{error.msg} {error.hint}" for error in errors)
    assert "SSPR_CODE_VALID_SECONDS is a str, not a int" in messages
    assert "SSPR_LOCKOUT_FAILURES is a bool, not a int" in messages
    assert "SSPR_AUDIT_WEBHOOK_SECRET is a bytes, not a str" in messages
    assert "not-shown-anywhere" not in messages
    with pytest.raises(SystemCheckError, match="SSPR_CODE_VALID_SECONDS"):
        call_command("check")


def test_every_setting_reads_as_its_kind_with_the_test_settings():
    from sspr_site.app_settings import fits

    for app, app_settings in _app_settings().items():
        for name, spec in app_settings.specs.items():
            assert fits(getattr(app_settings, name), spec.kind), f"{app}: SSPR_{name}"
            assert fits(spec.default, spec.kind), f"{app}: SSPR_{name}'s default"


def test_every_setting_reads_as_its_default_when_not_set(settings):
    for app, app_settings in _app_settings().items():
        for name, spec in app_settings.specs.items():
            if hasattr(settings, f"SSPR_{name}"):
                delattr(settings, f"SSPR_{name}")
            assert getattr(app_settings, name) == spec.default, f"{app}: SSPR_{name}"


# Where sspr_site/settings.py's value depends on more than the setting's own variable.
DEFAULTS_DIFFERING_FROM_SETTINGS = {
    # settings.py puts the files under SSPR_VAR_DIR; without the setting nothing is written.
    "PHONE_FILE_PATH",
}

_COMPARE = """
import json, django
from importlib import import_module
django.setup()
from django.conf import settings
differ = {}
for app in APPS:
    for name, spec in import_module(app + ".conf").app_settings.specs.items():
        if hasattr(settings, "SSPR_" + name) and getattr(settings, "SSPR_" + name) != spec.default:
            differ[name] = [repr(getattr(settings, "SSPR_" + name)), repr(spec.default)]
print(json.dumps(differ))
"""


def test_every_default_is_what_the_settings_give_without_the_environment():
    """The defaults are today's: settings.py's value when no variable is set (and the old
    getattr defaults for the settings it does not define)."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "sspr_site.settings",
        "SSPR_VAR_DIR": os.environ.get("SSPR_VAR_DIR", str(ROOT / "var")),
    }
    script = f"APPS = {APPS_WITH_SETTINGS!r}\n{_COMPARE}"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    differ = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(differ) == DEFAULTS_DIFFERING_FROM_SETTINGS, differ
