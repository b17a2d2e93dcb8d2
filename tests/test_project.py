"""The project's own commands and settings."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from methods.models import OfficePhone

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_seed_demo_creates_accounts_and_prints_working_sign_ins(settings, client, tmp_path):
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("seed_demo", "--address", "http://127.0.0.1:8123", stdout=out)
    lines = {
        line.split()[0]: line.split()[1]
        for line in out.getvalue().splitlines()
        if line.startswith("  ") and " demo-" in line
    }
    assert set(lines) == {"admin", "helpdesk", "alice", "bob", "carol"}
    assert "http://127.0.0.1:8123/ssprsetup/" in out.getvalue()
    # The same passwords on the next run.
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert all(password in again.getvalue() for password in lines.values())
    helper = client.post(
        "/ssprsetup/signin/", {"username": "helpdesk", "password": lines["helpdesk"]}
    )
    assert helper.status_code == 302
    assert client.get("/helpdesk/").status_code in (200, 302)
    client.post("/ssprsetup/signout/")
    User = get_user_model()
    assert User.objects.get(username="admin").is_superuser
    assert OfficePhone.objects.filter(user__username="bob").exists()
    response = client.post("/ssprsetup/signin/", {"username": "alice", "password": lines["alice"]})
    assert response.status_code == 302


@pytest.mark.django_db
def test_seed_demo_makes_the_helpdesk_group_again_if_it_was_deleted(settings, tmp_path, client):
    from django.contrib.auth.models import Group

    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    Group.objects.filter(name="Helpdesk").delete()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    password = next(
        line.split()[1] for line in out.getvalue().splitlines() if line.startswith("  helpdesk ")
    )
    client.post("/ssprsetup/signin/", {"username": "helpdesk", "password": password})
    group = Group.objects.get(name="Helpdesk")
    assert group.permissions.filter(codename="use_helpdesk").exists()
    assert group.user_set.filter(username="helpdesk").exists()
    session = client.session
    session.pop("sspr_check_registration", None)  # past the registration prompt
    session.save()
    assert client.get("/helpdesk/").status_code == 200


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())


def run_check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_refuses_the_development_secret_key(tmp_path):
    result = run_check({"SSPR_VAR_DIR": str(tmp_path)}, "--deploy")
    assert result.returncode != 0
    assert "sspr.E001" in result.stderr


def test_database_url_selects_postgresql():
    code = (
        "import os; os.environ['DATABASE_URL']='postgres://u:p@db.internal:5432/sspr';"
        "os.environ['REDIS_URL']='redis://cache.internal:6379/0';"
        "import sspr_site.settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['HOST'],"
        " s.CACHES['default']['BACKEND'])"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "db.internal",
        "sspr_site.redis_cache.RedisCache",
    ]


def test_security_md_cites_only_tests_that_exist():
    """Every test file docs/security.md names (`tests/...py`, globs too) is there, and every
    `tests/...py::test_name` it names is defined in that file."""
    text = (ROOT / "docs" / "security.md").read_text()
    cited = set(re.findall(r"tests/[\w*/.-]+?\.py", text))
    assert len(cited) > 10, "the paths are no longer found in docs/security.md"
    missing = sorted(path for path in cited if not list(ROOT.glob(path)))
    assert missing == [], f"docs/security.md cites test files that do not exist: {missing}"
    undefined = sorted(
        f"{path}::{name}"
        for path, name in re.findall(r"(tests/[\w/.-]+?\.py)::(\w+)", text)
        if not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.MULTILINE)
    )
    assert undefined == [], f"docs/security.md cites tests that are not defined: {undefined}"


# The embedded mode is what `make run` serves, and `make run` installs no directory extra: the
# site must load, migrate, seed its demo and serve every audience's first page without
# python-ldap or django-auth-ldap, signed in as well (every admin page).
WITHOUT_THE_DIRECTORY_EXTRA = r"""
import os, sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("ldap", "django_auth_ldap"):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Refuse())
sys.path.insert(0, os.getcwd())
os.environ["DJANGO_SETTINGS_MODULE"] = "sspr_site.settings"
import django
django.setup()
from django.core.management import call_command
call_command("check")
call_command("migrate", "--noinput", verbosity=0)
call_command("seed_demo", "--address", "http://localhost:8000")
from django.test import Client
client = Client(HTTP_HOST="localhost:8000")
for path in ("/", "/ssprsetup/", "/passwordreset/", "/helpdesk/", "/admin/login/"):
    status = client.get(path, follow=True).status_code
    print(path, status)
    assert status == 200, (path, status)
# Signed in, every page of the admin (each model's list and its "add" form) and the helpdesk.
from django.contrib import admin
from django.contrib.auth import get_user_model
staff = Client(HTTP_HOST="localhost:8000")
staff.force_login(get_user_model().objects.filter(is_superuser=True).first())
from registration import session as registration_session
signed_in = staff.session
signed_in.pop(registration_session.CHECK_AFTER_SIGN_IN)  # "Not now" to registering
signed_in.save()
pages = ["/admin/", "/helpdesk/"]
for model in admin.site._registry:
    meta = model._meta
    pages.append(f"/admin/{meta.app_label}/")
    pages.append(f"/admin/{meta.app_label}/{meta.model_name}/")
    pages.append(f"/admin/{meta.app_label}/{meta.model_name}/add/")
for path in dict.fromkeys(pages):
    status = staff.get(path, follow=True).status_code
    print("signed in", path, status)
    assert status in (200, 403), (path, status)  # 403: a model nobody adds by hand
"""


def test_the_embedded_mode_runs_without_the_directory_extra(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SSPR_LDAP")},
        "DJANGO_DEBUG": "1",
        "SSPR_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SSPR_SITE_URL": "http://localhost:8000",
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_DIRECTORY_EXTRA],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "/passwordreset/ 200" in done.stdout
    for page in ("/admin/", "/admin/policy/", "/admin/policy/policy/", "/helpdesk/"):
        assert f"signed in {page} 200" in done.stdout
    assert "demo-" in done.stdout
