"""One clear page when the directory cannot be reached or refuses, on every page that meets it
(sign-in at /ssprsetup and /admin, the password check before a change, and any other); never a
server error (docs/security.md §41, §43)."""

from __future__ import annotations

from django.shortcuts import redirect, render

from audit.log import record
from audit.models import EventKind

from . import expired
from .accounts import (
    REFUSED_BY_DIRECTORY,
    ChangeNeeded,
    DirectoryRefused,
    DirectoryUnavailable,
    NameWaits,
    failed_in_this_request,
)


class DirectoryTroubleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = failed_in_this_request.set(False)
        try:
            return self.get_response(request)
        finally:
            failed_in_this_request.reset(token)

    def process_exception(self, request, exception):
        if isinstance(exception, ChangeNeeded):
            # The password was right but has expired or must change: at /ssprsetup and at
            # /admin alike, the person changes it first, and is not signed in.
            expired.issue(request, exception.user, exception.reason)
            return redirect("registration:password")
        if isinstance(exception, NameWaits):
            context = {"waits": True, "again": request.get_full_path()}
            return render(request, "directory/trouble.html", context, status=503)
        if not isinstance(exception, DirectoryUnavailable | DirectoryRefused):
            return None
        refused = isinstance(exception, DirectoryRefused)
        if refused:
            record_refusal(request, exception)
        context = {
            "refused": refused,
            "message": REFUSED_BY_DIRECTORY,
            "again": request.get_full_path(),
        }
        return render(request, "directory/trouble.html", context, status=503)


def record_refusal(request, refusal: DirectoryRefused, subject=None) -> None:
    """The audit event the helpdesk and the operator read: what was refused and why."""
    user = getattr(request, "user", None)
    record(
        EventKind.DIRECTORY_REFUSED,
        request=request,
        subject=subject or (user if user is not None and user.is_authenticated else None),
        operation=refusal.operation,
        error=refusal.error,
    )
