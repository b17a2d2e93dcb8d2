"""The page shown when a form fails the CSRF check, in the site's layout."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseForbidden
from django.template.loader import render_to_string


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponseForbidden:
    # The reason is for developers only; the person gets a sentence they can act on.
    return HttpResponseForbidden(render_to_string("403_csrf.html", request=request))
