"""A wrong method on an address (GET on a sign-out form's address, PUT on the reset portal)
gets the site's own page, not the browser's "HTTP ERROR 405": the status and its Allow header
stay, the empty body becomes templates/405.html in the page's language."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


class MethodNotAllowedPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.streaming or response.content:
            return response
        response.content = render_to_string("405.html", request=request)
        response["Content-Type"] = "text/html; charset=utf-8"
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
