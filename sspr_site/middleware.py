"""Response headers Django does not set itself."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


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
