"""The layers (README, "Architecture"): a method's package imports only `methods.*` (and
libraries), never the apps that mount its pages; those reach it through methods/pages.py and
methods/lifecycle.py. This test reads every module under methods/ and fails on an import of
a host app."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

METHODS = Path(__file__).resolve().parents[2] / "methods"
HOSTS = ("registration", "passwordreset", "helpdesk")


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def plug_in_modules() -> list[Path]:
    return sorted(
        path
        for path in METHODS.glob("*/**/*.py")
        if "migrations" not in path.parts and "__pycache__" not in path.parts
    )


def test_there_are_plug_ins_to_check():
    packages = {path.relative_to(METHODS).parts[0] for path in plug_in_modules()}
    assert {"authenticator", "passkey", "questions", "code", "recovery_codes"} <= packages


@pytest.mark.parametrize("path", plug_in_modules(), ids=lambda path: str(path.relative_to(METHODS)))
def test_a_plug_in_imports_no_host_app(path):
    wrong = sorted(name for name in imported(path) if name.split(".")[0] in HOSTS)
    assert wrong == [], f"{path.relative_to(METHODS)} imports {wrong}: use methods.pages"


def test_the_check_sees_a_host_import(tmp_path):
    """The check itself fails on the imports it must refuse."""
    module = tmp_path / "views.py"
    module.write_text(
        "from registration.pages import posted\nimport passwordreset.flows\n", encoding="utf-8"
    )
    assert {name.split(".")[0] for name in imported(module)} == {"registration", "passwordreset"}


def test_a_method_name_that_clashes_with_a_relation_is_refused_at_start_up(monkeypatch):
    """The SQL flag `sspr_<key>` shares the user model's names (methods/checks.py)."""
    from methods.checks import method_names_are_free
    from methods.registry import REGISTRY

    assert method_names_are_free(None) == []
    method = REGISTRY["passkey"]
    # Passkey's relation to the user is called "sspr_passkeys": a flag of that name clashes.
    monkeypatch.setattr(type(method), "key", "passkeys")
    errors = method_names_are_free(None)
    assert [error.id for error in errors] == ["methods.E003"]
    assert "sspr_passkeys" in errors[0].msg


BOOKKEEPING = re.compile(
    r"EventKind\.(METHOD_VERIFIED|METHOD_CHANGED|METHOD_REMOVED|QUESTIONS_SET)|cycle_key\("
)


def test_only_the_lifecycle_writes_a_methods_bookkeeping():
    """Adding, replacing and removing a method is recorded in one place (methods/lifecycle.py):
    no method's module writes those audit events or rotates the session key itself, so every
    method records the same events the same way."""
    writers = sorted(
        str(path.relative_to(METHODS))
        for path in METHODS.rglob("*.py")
        if path.name != "lifecycle.py"
        and "migrations" not in path.parts
        and BOOKKEEPING.search(path.read_text(encoding="utf-8"))
    )
    assert writers == []


PLUG_INS = ("authenticator", "code", "passkey", "questions", "recovery_codes")


def runtime_imports(path: Path) -> set[str]:
    """The modules `path` imports when it runs (not those named only for type checking)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        for child in ast.walk(node)
    }
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def host_modules() -> list[Path]:
    root = METHODS.parent
    return sorted(
        path
        for host in ("registration", "passwordreset")
        for path in (root / host).rglob("*.py")
        if "migrations" not in path.parts
    )


@pytest.mark.parametrize(
    "path", host_modules(), ids=lambda path: str(path.relative_to(METHODS.parent))
)
def test_a_host_app_names_no_plug_in(path):
    """The apps that mount the methods' pages reach them through the registry and the
    contract (methods.registry, .base, .lifecycle, .reset_rule…), never a plug-in's package."""
    wrong = sorted(
        name
        for name in runtime_imports(path)
        if name.startswith("methods.") and name.split(".")[1] in PLUG_INS
    )
    assert wrong == [], f"{path.relative_to(METHODS.parent)} imports {wrong}"
