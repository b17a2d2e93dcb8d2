"""The sign-in interrupt: after signing in, unregistered users go to /ssprsetup first."""

from __future__ import annotations

from functools import partial

from django.contrib import auth
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from methods import not_me
from methods.registry import PERSON_WITH_METHODS
from policy.models import Policy
from sspr_site.compiled_query import read_person_with

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


class PersonWithMethodsMiddleware:
    """On a GET of /ssprsetup, or a POST to a page whose first step reads the person's methods
    before changing anything (`person_with_methods`, methods.pages.reads_methods_first), the
    signed-in person is read with their methods, in one query (methods/registry.py), where the
    page would read the person and then their methods: a GET's checks and the page itself, and
    a POST's proof check, use the methods read then (pages.methods_of, pages.methods_at_start).
    Anything else reads the person as every request does. Placed just after Django's
    authentication middleware: the person is read when first asked for, by then with the
    page's view known (a POST whose person is asked for sooner reads them as usual)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/ssprsetup/"):
            request.user = SimpleLazyObject(partial(_person, request))
        return self.get_response(request)


def _person(request):
    view = getattr(getattr(request, "resolver_match", None), "func", None)
    if request.method not in ("GET", "HEAD") and not getattr(view, "person_with_methods", False):
        return auth.get_user(request)
    with read_person_with(PERSON_WITH_METHODS):
        return auth.get_user(request)


class RegistrationInterruptMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            not request.path.startswith(EXEMPT_PREFIXES)
            and request.session.get(session.CHECK_AFTER_SIGN_IN)
            and request.user.is_authenticated
        ):
            policy = Policy.load()
            if (
                policy.require_registration_at_sign_in
                and policy.in_scope(request.user)
                # Paused (methods/not_me.py): nothing could be registered; the pages say why.
                and not not_me.paused(request.user)
                and registration_status(user=request.user, policy=policy).needs_attention
            ):
                if request.method == "GET":
                    session.set_return_to(request, request.get_full_path())
                return redirect(reverse("registration:overview"))
            # Registered and current: no need to look again until the next sign-in.
            request.session.pop(session.CHECK_AFTER_SIGN_IN, None)
        return self.get_response(request)
