"""System checks for settings that would make the service unsafe or unable to deliver codes."""

from __future__ import annotations

import ipaddress
from importlib import import_module
from pathlib import Path
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import module_has_submodule

from .app_settings import AppSettings
from .conf import app_settings


def project_app_settings(app_configs=None) -> list[AppSettings]:
    """Each project app's `conf.app_settings` (docs/architecture.md, "Where settings are read"),
    found by name, as Django finds admin modules: sspr_site imports no app above it."""
    base = Path(settings.BASE_DIR).resolve()
    found = []
    for app_config in app_configs or apps.get_app_configs():
        path = Path(app_config.path).resolve()
        if not path.is_relative_to(base) or "site-packages" in path.parts:
            continue  # a library's own conf module is none of ours
        if not module_has_submodule(app_config.module, "conf"):
            continue
        candidate = getattr(import_module(f"{app_config.name}.conf"), "app_settings", None)
        if isinstance(candidate, AppSettings):
            found.append(candidate)
    return found


@register()
def project_settings_kinds(app_configs, **kwargs):
    """A project setting of the wrong kind (a word where a number belongs) fails at start-up,
    not at the first request that reads it (sspr.E030)."""
    return [error for one in project_app_settings(app_configs) for error in one.check()]


@register(Tags.security, deploy=True)
def secret_key_from_environment(app_configs, **kwargs):
    if not settings.SECRET_KEY_FROM_ENVIRONMENT:
        return [
            Error(
                "DJANGO_SECRET_KEY is not set; the development key must not be used in production.",
                hint="Set DJANGO_SECRET_KEY to a long random value.",
                id="sspr.E001",
            )
        ]
    return []


def cache_is_shared() -> bool:
    """Whether every worker process sees the same cache (Redis, memcached, a database)."""
    backend = settings.CACHES["default"]["BACKEND"]
    return not backend.endswith(("LocMemCache", "DummyCache"))


@register(Tags.caches, deploy=True)
def shared_cache_for_several_workers(app_configs, **kwargs):
    if app_settings.WEB_WORKERS > 1 and not cache_is_shared():
        return [
            Error(
                f"{app_settings.WEB_WORKERS} workers (WEB_CONCURRENCY) on a per-process cache: "
                "limits, blocks and single-use checks would be counted once per worker.",
                hint="Set REDIS_URL to a Redis server shared by all workers, or run one worker.",
                id="sspr.E002",
            )
        ]
    return []


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def host_fits_rp_id(host: str, rp_id: str) -> bool:
    """Whether a browser on `host` accepts `rp_id` for passkeys: a name (never an IP address),
    the host itself or a domain it belongs to (docs/security.md §38)."""
    host, rp_id = host.lower().rstrip("."), rp_id.lower().rstrip(".")
    if not rp_id or _is_ip_address(rp_id) or _is_ip_address(host):
        return False
    return host == rp_id or host.endswith("." + rp_id)


@register(Tags.security)
def passkeys_can_work(app_configs, **kwargs):
    """Passkeys are refused by the browser, with no reason given to the person, when the
    relying party id is an IP address or the site's address does not fit it (README, Try it)."""
    rp_id = app_settings.WEBAUTHN_RP_ID
    site = app_settings.SITE_URL
    site_host = urlsplit(site).hostname or ""
    warnings = []
    if _is_ip_address(rp_id):
        warnings.append(
            Warning(
                f"SSPR_WEBAUTHN_RP_ID is an IP address ({rp_id}): browsers refuse passkeys "
                "for an IP address.",
                hint="Serve the site by name (e.g. SSPR_SITE_URL=http://localhost:8000) or set "
                "SSPR_WEBAUTHN_RP_ID to its domain.",
                id="sspr.W020",
            )
        )
    elif not host_fits_rp_id(site_host, rp_id):
        warnings.append(
            Warning(
                f"SSPR_SITE_URL ({site}) is not on the passkey domain SSPR_WEBAUTHN_RP_ID "
                f"({rp_id}): browsers would refuse passkeys there.",
                hint="Set SSPR_WEBAUTHN_RP_ID to the site's host or a domain it belongs to.",
                id="sspr.W021",
            )
        )
    origins = {_origin(origin) for origin in app_settings.WEBAUTHN_ORIGINS}
    if _origin(site) not in origins:
        warnings.append(
            Warning(
                f"SSPR_WEBAUTHN_ORIGINS does not include SSPR_SITE_URL's origin "
                f"({_origin(site)}): passkeys made or used there would be refused.",
                hint="Leave SSPR_WEBAUTHN_ORIGINS unset to follow SSPR_SITE_URL, or add it.",
                id="sspr.W022",
            )
        )
    return warnings
