"""The sign-in interrupt: after signing in, unregistered users go to /ssprsetup first."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse

from policy.models import Policy

from . import session
from .flows import registration_status

# Pages that never interrupt: the registration itself, signing out, static files, health.
EXEMPT_PREFIXES = (
    "/ssprsetup/",
    "/passwordreset/",
    "/static/",
    "/i18n/",
    "/admin/logout/",
    "/admin/jsi18n/",
    "/favicon",
)


class RegistrationInterruptMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.session.get(session.CHECK_AFTER_SIGN_IN)
            and request.user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
        ):
            policy = Policy.load()
            if (
                policy.require_registration_at_sign_in
                and policy.in_scope(request.user)
                and registration_status(user=request.user, policy=policy).needs_attention
            ):
                if request.method == "GET":
                    session.set_return_to(request, request.get_full_path())
                return redirect(reverse("registration:overview"))
            # Registered and current: no need to look again until the next sign-in.
            request.session.pop(session.CHECK_AFTER_SIGN_IN, None)
        return self.get_response(request)
