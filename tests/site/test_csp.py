"""The Content-Security-Policy header (sspr_site/middleware.py): the settings' policy on every
page, written once per process, yet following changed settings, and a view's own changes and
nonces handled as django-csp does."""

from __future__ import annotations

import pytest
from csp.constants import NONCE
from csp.exceptions import CSPNonceError
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from sspr_site.middleware import ContentSecurityPolicyMiddleware

pytestmark = pytest.mark.django_db


def _answer(response=None, request=None):
    request = request or RequestFactory().get("/ssprsetup/")
    middleware = ContentSecurityPolicyMiddleware(lambda r: response or HttpResponse("ok"))
    return request, middleware(request)


def test_every_page_has_the_settings_policy(client):
    response = client.get("/passwordreset/")
    assert response["Content-Security-Policy"] == build_policy()
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "Content-Security-Policy-Report-Only" not in response


def test_changed_settings_are_followed():
    _answer()  # the policy is kept from here on
    policy = {"DIRECTIVES": {"default-src": ["'none'"]}}
    with override_settings(
        CONTENT_SECURITY_POLICY=policy, CONTENT_SECURITY_POLICY_REPORT_ONLY=policy
    ):
        _request, response = _answer()
        assert response["Content-Security-Policy"] == "default-src 'none'"
        assert response["Content-Security-Policy-Report-Only"] == "default-src 'none'"
    _request, response = _answer()
    assert response["Content-Security-Policy"] == build_policy()


def test_excluded_prefixes_get_no_header():
    policy = {"EXCLUDE_URL_PREFIXES": ["/ssprsetup/"], "DIRECTIVES": {"default-src": ["'self'"]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        _request, response = _answer()
        assert "Content-Security-Policy" not in response
        _request, response = _answer(request=RequestFactory().get("/passwordreset/"))
        assert response["Content-Security-Policy"] == "default-src 'self'"


def test_a_views_own_changes_and_a_nonce_are_built_for_that_response():
    changed = HttpResponse("ok")
    changed._csp_update = {"img-src": ["https://images.example.org"]}
    _request, response = _answer(changed)
    assert "https://images.example.org" in response["Content-Security-Policy"]

    exempt = HttpResponse("ok")
    exempt._csp_exempt = True
    _request, response = _answer(exempt)
    assert "Content-Security-Policy" not in response

    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"script-src": [NONCE]}}):
        request = RequestFactory().get("/ssprsetup/")
        middleware = ContentSecurityPolicyMiddleware(lambda r: HttpResponse(str(r.csp_nonce)))
        middleware.process_request(request)
        response = middleware(request)
    assert f"script-src 'nonce-{response.content.decode()}'" in response["Content-Security-Policy"]


def test_a_nonce_asked_for_after_the_header_is_written_is_an_error():
    request = RequestFactory().get("/ssprsetup/")
    middleware = ContentSecurityPolicyMiddleware(lambda r: HttpResponse("ok"))
    middleware.process_request(request)
    middleware(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_a_header_already_set_is_kept():
    own = HttpResponse("ok")
    own["Content-Security-Policy"] = "default-src 'none'"
    _request, response = _answer(own)
    assert response["Content-Security-Policy"] == "default-src 'none'"


def test_debug_pages_for_404_and_500_are_left_as_django_csp_leaves_them(settings):
    settings.DEBUG = True
    for status in (404, 500):
        _request, response = _answer(HttpResponse("debug", status=status))
        assert "Content-Security-Policy" not in response
    _request, response = _answer(HttpResponse("fine", status=403))
    assert response["Content-Security-Policy"] == build_policy()


def test_the_report_only_policy_has_its_own_excluded_prefixes():
    policy = {"EXCLUDE_URL_PREFIXES": ["/helpdesk/"], "DIRECTIVES": {"default-src": ["'self'"]}}
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=policy):
        _request, response = _answer(request=RequestFactory().get("/helpdesk/"))
        assert "Content-Security-Policy-Report-Only" not in response
        assert response["Content-Security-Policy"] == build_policy()
        _request, response = _answer()
        assert response["Content-Security-Policy-Report-Only"] == "default-src 'self'"
