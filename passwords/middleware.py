"""A clear "busy, try again in a moment" page when every hashing slot stays taken.

passwords.hashers bounds the hashes running at once in a process (SSPR_CONCURRENT_HASHES) and
raises HasherBusy after SSPR_HASH_WAIT_SECONDS of waiting. The hash comes before anything is
saved (the sign-in, the new password, an answer), and the exception leaves every transaction
it crosses, so the request changed nothing: it is answered with 503 and Retry-After, never a
server error (docs/performance.md, "The password hasher").
"""

from __future__ import annotations

import logging
import math

from django.shortcuts import render

from .conf import app_settings
from .hashers import HasherBusy

logger = logging.getLogger(__name__)


class HasherBusyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, HasherBusy):
            return None
        logger.warning(
            "Password hashing busy: %s slots taken for %s s; answered 503",
            app_settings.CONCURRENT_HASHES,
            app_settings.HASH_WAIT_SECONDS,
        )
        # "Try again" opens the same page afresh; what was typed is not kept.
        again = request.get_full_path()
        response = render(request, "passwords/busy.html", {"again": again}, status=503)
        response["Retry-After"] = str(max(1, math.ceil(float(app_settings.HASH_WAIT_SECONDS))))
        response["Cache-Control"] = "no-store"
        return response
