"""Response headers Django does not set itself."""

from __future__ import annotations

import functools

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase


class CrossOriginIsolationMiddleware:
    """No other site may embed this site's responses (Cross-Origin-Resource-Policy) or keep a
    handle on its windows (Cross-Origin-Opener-Policy), static files included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


# What a view may set on its response (django-csp's decorators) or the request may hold (a
# nonce asked for): with any of them, the policy is built for that response.
_PER_RESPONSE = (
    "_csp_exempt",
    "_csp_exempt_ro",
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the policy of the settings written once per process, not
    built again for every response (about 35 µs each, docs/performance.md). A response whose
    view changed the policy, or a page that used a nonce, is handled by django-csp as before;
    changed settings (in tests) are read again."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _PER_RESPONSE
        ):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # as django-csp: Django's debug pages keep their inline styles
        for header, value, excluded in _settings_policy():
            if value and header not in response and not request.path_info.startswith(excluded):
                response[header] = value
        # As django-csp: asking for a nonce once the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


@functools.cache
def _settings_policy() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(header, policy, excluded path prefixes) for the enforced and the report-only policy."""
    return tuple(
        (
            header,
            build_policy(report_only=report_only),
            tuple((getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()),
        )
        for header, name, report_only in (
            (HEADER, "CONTENT_SECURITY_POLICY", False),
            (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
        )
    )


@receiver(setting_changed)
def _policy_changed(*, setting, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _settings_policy.cache_clear()
