"""The shared start of the benchmark scripts: Django on a throw-away SQLite file, unless
DATABASE_URL names another database (make bench also runs them on PostgreSQL)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(prefix: str) -> Path:
    """Set up Django and return a scratch folder for the run."""
    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sspr_site.settings")
    os.environ.setdefault("SSPR_VAR_DIR", str(workdir / "var"))
    # Unhashed static names: the pages render without running collectstatic first.
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    return workdir
