"""The /ssprsetup pages. Each view reads the request, calls one flow, and renders or redirects."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from audit.log import record
from audit.models import EventKind
from directory.accounts import (
    ACCOUNT_GONE,
    AccountMissing,
    DirectoryUnavailable,
    PasswordRefused,
    password_rules,
)
from directory.accounts import available as directory_available
from methods import flows as method_flows
from methods.registry import UserMethods, by_slug
from passwords.validators import strength_answer
from policy.models import Policy
from sspr_site.network import client_address

from . import session
from .flows import (
    TooManyWrongPasswords,
    password_change,
    registration_finish,
    registration_skip,
    registration_status,
)
from .forms import ChangePasswordForm, PasswordCheckForm, SignInForm
from .pages import (
    JUST_REGISTERED,
    needs_password,
    posted,
    safe_return,
    secure_page,
)

# --- Signing in -------------------------------------------------------------------------------


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class SignInView(auth_views.LoginView):
    # LoginView rotates the session key, and only follows `next` to this host. Failed sign-ins
    # lock the username (django-axes); this view also limits failures per client address.
    template_name = "registration/signin.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if sign_in_failures(request) >= settings.SSPR_SIGN_IN_FAILURES_PER_IP:
            form = self.get_form()
            form.add_error(
                None,
                _("Too many failed sign-ins from your network. Wait an hour and try again."),
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.is_bound and not directory_available():
            # Said for every name alike: the directory is down for everyone. The attempt is
            # not held against the name either: an outage must not lock people out.
            AccessAttempt.objects.filter(
                username=form.data.get("username", "")[:150], failures_since_start__gt=0
            ).update(failures_since_start=F("failures_since_start") - 1)
            form.errors.clear()
            form.add_error(
                None,
                _(
                    "Signing in is unavailable just now: the account directory cannot be "
                    "reached. Try again in a few minutes."
                ),
            )
            return self.render_to_response(self.get_context_data(form=form), status=503)
        key = _sign_in_failures_key(self.request)
        cache.add(key, 0, timeout=3600)
        cache.incr(key)
        return super().form_invalid(form)


def _sign_in_failures_key(request: HttpRequest) -> str:
    return f"sspr:signin-failures:{client_address(request) or 'unknown'}"


def sign_in_failures(request: HttpRequest) -> int:
    return cache.get(_sign_in_failures_key(request), 0)


class SignOutView(auth_views.LogoutView):
    pass


@sensitive_post_parameters("password")
@secure_page
def confirm_password(request: HttpRequest) -> HttpResponse:
    next_url = safe_return(request, request.POST.get("next") or request.GET.get("next"))
    form = PasswordCheckForm(posted(request), request=request)
    if request.method == "POST" and form.is_valid():
        request.session.cycle_key()
        session.mark_password_checked(request)
        record(EventKind.PASSWORD_CONFIRMED, request=request, subject=request.user)
        return redirect(next_url)
    return render(request, "registration/confirm_password.html", {"form": form, "next": next_url})


@sensitive_post_parameters("current_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
@secure_page
def change_password(request: HttpRequest) -> HttpResponse:
    """Change a known password: the current one, then the new one twice. The rules that will
    apply are listed before typing: the directory's (when there is one) and the site's."""
    form = ChangePasswordForm(request.user, posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            password_change(
                request=request,
                user=request.user,
                current=form.cleaned_data["current_password"],
                new=form.cleaned_data["new_password1"],
            )
        except PasswordRefused as refusal:
            field = "current_password" if refusal.reason == "wrong_current" else "new_password1"
            form.add_error(field, refusal.message)
        except TooManyWrongPasswords:
            form.add_error(
                None,
                _(
                    "Too many wrong current passwords. Wait an hour, or reset your password "
                    "at the password reset page."
                ),
            )
            status = 429
        except DirectoryUnavailable:
            form.add_error(
                None,
                _(
                    "The account directory cannot be reached just now, so nothing was "
                    "changed. Try again in a few minutes."
                ),
            )
            status = 503
        except AccountMissing:
            form.add_error(None, ACCOUNT_GONE)
        else:
            messages.success(request, _("Your password was changed."))
            return redirect("registration:overview")
    return render(
        request,
        "registration/change_password.html",
        {"form": form, "rules": password_rules(request.user)},
        status=status,
    )


@sensitive_post_parameters("password")
@require_POST
@secure_page
def password_strength(request: HttpRequest) -> JsonResponse:
    """The meter on the change page: how hard the typed password is to guess. Nothing is
    stored or logged."""
    return JsonResponse(strength_answer(request.POST.get("password", ""), request.user))


# --- The overview and Finish ------------------------------------------------------------------


@secure_page
def overview(request: HttpRequest) -> HttpResponse:
    status = registration_status(user=request.user)
    cards = [
        {
            "status": method_status,
            "setup_url": method_status.method.setup_url()
            if method_status.method.user_managed
            else "",
            "note": method_status.method.note(status.policy),
        }
        for method_status in status.methods
    ]
    return render(
        request,
        "registration/overview.html",
        {"status": status, "cards": cards, "interrupted": session.interrupted(request)},
    )


@require_POST
@secure_page
def finish(request: HttpRequest) -> HttpResponse:
    policy = Policy.load()
    outcome = registration_finish(request=request, user=request.user, policy=policy)
    if outcome is not None:
        just_registered = request.session.pop(JUST_REGISTERED, False)
        if outcome is EventKind.REGISTRATION_CONFIRMED and not just_registered:
            messages.success(request, _("Thank you. Your methods are confirmed."))
        else:
            messages.success(
                request,
                _(
                    "Your registration is complete. If you forget your password or get locked "
                    "out, you can now reset or unlock it yourself."
                ),
            )
        return redirect(safe_return(request, session.end_interrupt(request)))
    messages.error(
        request, _("Set up and verify the methods your organisation requires before you finish.")
    )
    return redirect("registration:overview")


@require_POST
@secure_page
def skip(request: HttpRequest) -> HttpResponse:
    """Postpone registering, when asked at sign-in and skips are left."""
    policy = Policy.load()
    if not session.interrupted(request):
        return redirect("registration:overview")
    if not registration_skip(request=request, user=request.user, policy=policy):
        messages.error(request, _("You cannot postpone any more. Please register now."))
        return redirect("registration:overview")
    return redirect(safe_return(request, session.end_interrupt(request)))


# --- Removing a method ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@secure_page
def method_remove(request: HttpRequest, slug: str) -> HttpResponse:
    method = by_slug(slug)
    if method is None or not method.user_managed:
        raise Http404
    policy = Policy.load()
    current = method.status(UserMethods.load(request.user), policy)
    if not current.is_set:
        return redirect("registration:overview")
    if gate := needs_password(request):
        return gate
    if request.method == "POST":
        method_flows.method_remove(request=request, user=request.user, method=method, policy=policy)
        session.clear_pending(request, method.slug)
        messages.success(request, _("%(method)s removed.") % {"method": method.label})
        return redirect("registration:overview")
    return render(
        request, "registration/method_remove.html", {"method": method, "current": current}
    )
