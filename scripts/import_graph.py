"""Print which app imports which, and every import against the layering (docs/architecture.md).

Reads the project's *.py files (not tests, not migrations) with ast; counts `import` and
`from ... import` at module level and inside functions, skips those under TYPE_CHECKING.
Run from the repository's root: `.venv/bin/python scripts/import_graph.py`.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "sspr_site",
    "audit",
    "passwords",
    "delivery",
    "directory",
    "methods",
    "policy",
    "registration",
    "passwordreset",
    "helpdesk",
    "accesspass",
)
# Lower layers never import higher ones (docs/architecture.md, "Layers").
LAYER = {
    "sspr_site": 0,
    "audit": 1,
    "passwords": 1,
    "delivery": 2,
    "directory": 3,
    "methods": 4,
    "policy": 5,
    "registration": 6,
    "passwordreset": 6,
    "helpdesk": 7,
    "accesspass": 8,
    "sspr_site.urls": 9,
}


def node(module: str) -> str | None:
    if module == "sspr_site.urls":
        return module
    top = module.split(".")[0]
    return top if top in APPS else None


def imports(tree: ast.Module, package: list[str]):
    def walk(body, lazy=False):
        for statement in body:
            if isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test):
                yield from walk(statement.orelse, lazy)
                continue
            if isinstance(statement, ast.Import):
                for alias in statement.names:
                    yield statement.lineno, alias.name, lazy
            elif isinstance(statement, ast.ImportFrom):
                base = statement.module or ""
                if statement.level:
                    parent = package[: len(package) - statement.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                for alias in statement.names:
                    yield statement.lineno, f"{base}.{alias.name}", lazy
            in_function = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(statement, field, None)
                if isinstance(inner, list):
                    yield from walk(inner, lazy or in_function)

    yield from walk(tree.body)


def main() -> int:
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] not in APPS or "migrations" in relative.parts:
            continue
        module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        source = node(module)
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for line, imported, lazy in imports(ast.parse(path.read_text()), package):
            # "from methods import flows" names methods.flows; "from x import Name" names x.Name.
            target = node(imported) or node(imported.rsplit(".", 1)[0])
            if target and target != source:
                edges[source, target].append(
                    f"{relative}:{line}{' (in a function)' if lazy else ''}"
                )
    against: list[str] = []
    for (source, target), where in sorted(edges.items()):
        wrong = LAYER[target] >= LAYER[source]
        print(f"{source:14} -> {target:14} {len(where):3}{'  AGAINST THE LAYERS' if wrong else ''}")
        if wrong:
            against.extend(f"  {source} -> {target}: {place}" for place in sorted(set(where)))
    print("\nImports against the layering:", *against or ["  none"], sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
