from __future__ import annotations

import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from methods.backends import locmem
from policy.models import Policy
from tests.support.browser import CHROMIUM
from tests.support.people import PASSWORD, past_sign_in_check, sign_in


@pytest.fixture(autouse=True)
def _isolated_delivery(settings, tmp_path):
    settings.SSPR_PHONE_BACKEND = "locmem"
    # Messages are sent by the test process after each response; tests/delivery runs the real
    # queue and worker.
    settings.SSPR_DELIVERY = "in_process"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SSPR_PHONE_FILE_PATH = str(tmp_path / "phone")
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    # Keep the backoff out of the way unless a test is about it.
    settings.SSPR_CODE_THROTTLE_FACTOR = 0
    locmem.outbox.clear()
    cache.clear()
    # Each test starts in the site's language: a page a test opened in another activates that
    # language for the rest of the thread, and a command's output would follow it.
    translation.deactivate()
    yield
    translation.deactivate()
    locmem.outbox.clear()
    cache.clear()


@pytest.fixture
def approved_questions(db):
    """The built-in questions, re-created when a transactional test flushed the tables."""
    import importlib

    from methods.models import SecurityQuestion

    builtin = importlib.import_module("methods.migrations.0002_builtin_questions").QUESTIONS
    for text in builtin:
        SecurityQuestion.objects.get_or_create(text=text, defaults={"builtin": True})
    return SecurityQuestion.objects.filter(active=True)


@pytest.fixture
def phone_outbox():
    return locmem.outbox


@pytest.fixture
def policy(db) -> Policy:
    return Policy.load()


@pytest.fixture
def make_user(db):
    def make(username="alice", *, email=None, staff=False, password=PASSWORD, **extra):
        user = get_user_model().objects.create_user(
            username=username,
            email=f"{username}@example.org" if email is None else email,
            password=password,
            is_staff=staff,
            first_name=username.title(),
            **extra,
        )
        return user

    return make


@pytest.fixture
def admin_client(make_user) -> Client:
    """A superuser's client, past the sign-in interrupt (tested on its own)."""
    admin = make_user("root", staff=True)
    admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    session = client.session
    session.pop("sspr_check_registration", None)
    session.save()
    client.admin = admin
    return client


@pytest.fixture
def helpdesk_client(make_user) -> Client:
    """A member of the Helpdesk group, signed in."""
    from django.contrib.auth.models import Group

    agent = make_user("agent", password=None)
    agent.groups.add(Group.objects.get(name="Helpdesk"))
    return past_sign_in_check(Client(), agent)


@pytest.fixture
def user(make_user):
    return make_user()


@pytest.fixture
def signed_in(client, user) -> Client:
    response = sign_in(client, user.username)
    assert response.status_code == 302
    return client


# --- Real services: PostgreSQL, Redis, Chromium -----------------------------------------------


def _unmet(item) -> str | None:
    from django.conf import settings

    if item.get_closest_marker("postgres") and settings.DATABASES["default"]["ENGINE"] != (
        "django.db.backends.postgresql"
    ):
        return "PostgreSQL is not configured (DATABASE_URL)"
    if item.get_closest_marker("redis") and "Redis" not in settings.CACHES["default"]["BACKEND"]:
        return "Redis is not configured (REDIS_URL)"
    if item.get_closest_marker("browser") and not CHROMIUM:
        return "Chromium is not installed (apt-get install chromium)"
    if item.get_closest_marker("directory"):
        import importlib.util

        if importlib.util.find_spec("ldap") is None:
            return (
                "The directory extra is not installed (pip install -r requirements-directory.txt)"
            )
        if not (shutil.which("slapd") or os.path.exists("/usr/sbin/slapd")):
            return "slapd is not installed (apt-get install slapd ldap-utils)"
    if item.get_closest_marker("samba") and (not shutil.which("samba-tool") or os.geteuid()):
        return "Samba's AD DC needs samba-ad-dc, samba-ad-provision and root"
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Skip tests whose service is missing on a developer machine; in CI, refuse to run."""
    missing = {}
    for item in items:
        reason = _unmet(item)
        if reason:
            missing.setdefault(reason, []).append(item.nodeid)
            item.add_marker(pytest.mark.skip(reason=reason))
    if missing and os.environ.get("CI") == "true":
        lines = [f"{reason}: {len(ids)} tests, e.g. {ids[0]}" for reason, ids in missing.items()]
        raise pytest.UsageError("CI must not skip service tests:\n" + "\n".join(lines))
