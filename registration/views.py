"""The /ssprsetup pages. Each view reads the request, calls one flow, and renders or redirects."""

from __future__ import annotations

import math
from functools import wraps

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
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
from methods.backends import DeliveryProblem
from methods.code import CodeMethod
from methods.forms import ChannelForm, CodeForm, QuestionsForm
from methods.models import CheckOutcome, Purpose
from methods.registry import REGISTRY, UserMethods, by_slug
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
    record_when_complete,
    safe_return,
    secure_page,
    still_needed,
)

# A try during the backoff after a wrong code is not counted; the person is told to wait, which
# tells them nothing they did not know (docs/security.md §7).
WAIT_A_MOMENT = gettext_lazy("Wait a moment, then enter the code again.")
# One message for every refused code, so a guesser learns nothing (docs/security.md §7).
CODE_REFUSED = gettext_lazy(
    "That code is not right or no longer valid. Check it and try again, or send a new code."
)


def seconds_until(moment) -> int:
    """Whole seconds from now until `moment`, at least 1: shown instead of a clock time, which
    would be the server's and not the reader's."""
    return max(1, math.ceil((moment - timezone.now()).total_seconds()))


def refusal_message(result: method_flows.SendResult) -> str:
    refusal = method_flows.SendRefusal
    if result.refusal is refusal.NOT_ALLOWED:
        return _(
            "Your organisation does not allow codes to this number. Enter another number, or "
            "contact your helpdesk."
        )
    if result.refusal is refusal.COOLDOWN:
        seconds = seconds_until(result.next_send_at)
        return ngettext(
            "A code was sent a moment ago. You can ask for another one in %(seconds)d second.",
            "A code was sent a moment ago. You can ask for another one in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
    if result.refusal is refusal.RATE_LIMITED:
        return _(
            "Too many codes were asked for. Wait an hour and try again, or contact your helpdesk."
        )
    return {
        DeliveryProblem.INVALID_NUMBER: _(
            "This number cannot receive our messages. Check it, or use another number."
        ),
        DeliveryProblem.INVALID_ADDRESS: _(
            "The mail server refused this address. Check it, or use another address."
        ),
        DeliveryProblem.REGION_NOT_ENABLED: _(
            "We cannot send messages to this country. Use a number from another country."
        ),
        DeliveryProblem.TOO_MANY_REQUESTS: _(
            "The message service is busy. Wait a minute and try again."
        ),
    }.get(
        result.problem,
        _("The code could not be sent just now. Nothing was changed; please try again."),
    )


def code_method(view):
    """Resolve the <slug> in the URL to an enabled, user-managed method of the code family,
    whose steps these shared pages are."""

    @wraps(view)
    def wrapper(request, slug, *args, **kwargs):
        method = by_slug(slug)
        policy = Policy.load()
        if (
            method is None
            or method.family != "code"
            or not method.user_managed
            or not method.is_enabled(policy)
        ):
            raise Http404
        return view(request, method, policy, *args, **kwargs)

    return wrapper


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


# --- Authentication phone and email: enter, send, verify ----------------------------------------


def code_steps(method: CodeMethod, policy: Policy, current: str) -> dict:
    """The step indicator of the code pages: enter, (choose how,) enter the code."""
    steps = [("start", method.start_label)]
    if method.confirm_before_send:
        many = len(method.channels(policy)) > 1
        steps.append(("send", _("Choose text or call") if many else _("Check and send")))
    steps.append(("verify", _("Enter the code")))
    keys = [key for key, _label in steps]
    done = keys[: keys.index(current)] if current in keys else []
    return {"steps": steps, "step": current, "done_steps": done}


@secure_page
@code_method
def method_start(request: HttpRequest, method: CodeMethod, policy: Policy) -> HttpResponse:
    """Step 1: the number or address to verify."""
    if gate := needs_password(request):
        return gate
    form = method.start_form(
        posted(request),
        user=request.user,
        policy=policy,
        previous=session.get_pending(request, method.slug),
    )
    if request.method == "POST" and form.is_valid():
        destination = form.cleaned_data["destination"]
        session.set_pending(request, method.slug, destination)
        if method.confirm_before_send:
            return redirect("registration:method_send", slug=method.slug)
        return _send(request, method, policy, method.channels(policy)[0], form=form)
    return render(
        request,
        "registration/method_start.html",
        {
            "form": form,
            "method": method,
            **code_steps(method, policy, "start"),
            **still_needed(request, policy),
        },
    )


@require_POST
@secure_page
@code_method
def method_confirm_existing(
    request: HttpRequest, method: CodeMethod, policy: Policy
) -> HttpResponse:
    """Confirm a number or address an administrator entered: send a code to it."""
    registered = UserMethods.load(request.user)
    existing = method.record(registered)
    if existing is None:
        return redirect("registration:method_start", slug=method.slug)
    session.set_pending(request, method.slug, str(getattr(existing, method.field)))
    return redirect("registration:method_send", slug=method.slug)


@require_http_methods(["GET", "POST"])
@secure_page
@code_method
def method_send(request: HttpRequest, method: CodeMethod, policy: Policy) -> HttpResponse:
    """Step 2: show the destination back and send the code the way the user chooses."""
    destination = session.get_pending(request, method.slug)
    if destination is None:
        messages.info(request, _("Start by entering the details to verify."))
        return redirect("registration:method_start", slug=method.slug)
    channels = method.channels(policy)
    form = ChannelForm(posted(request), channels=channels)
    if request.method == "POST" and form.is_valid():
        return _send(request, method, policy, form.cleaned_data["channel"], form=form)
    return render(
        request,
        "registration/code_send.html",
        {
            "form": form,
            "method": method,
            "destination": method.display(destination),
            "channels": channels,
            **code_steps(method, policy, "send"),
        },
    )


def _send(request, method: CodeMethod, policy: Policy, channel, *, form) -> HttpResponse:
    destination = session.get_pending(request, method.slug)
    result = method_flows.code_send(
        request=request,
        user=request.user,
        method=method,
        purpose=Purpose.REGISTER,
        destination=destination,
        channel=channel,
        policy=policy,
    )
    if result.sent:
        return redirect("registration:method_verify", slug=method.slug)
    live = method_flows.pending_code(user=request.user, method=method, purpose=Purpose.REGISTER)
    if (
        result.refusal is method_flows.SendRefusal.COOLDOWN
        and live
        and (live.destination == destination)
    ):
        # The code already on its way to this very destination is still good.
        messages.info(request, refusal_message(result))
        return redirect("registration:method_verify", slug=method.slug)
    form.add_error(None, refusal_message(result))
    status = 429 if result.refusal is method_flows.SendRefusal.RATE_LIMITED else 200
    template = (
        "registration/code_send.html"
        if isinstance(form, ChannelForm)
        else "registration/method_start.html"
    )
    return render(
        request,
        template,
        {
            "form": form,
            "method": method,
            "destination": method.display(destination),
            "channels": method.channels(policy),
            **code_steps(method, policy, "send" if isinstance(form, ChannelForm) else "start"),
        },
        status=status,
    )


@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
@secure_page
@code_method
def method_verify(request: HttpRequest, method: CodeMethod, policy: Policy) -> HttpResponse:
    """Step 3: the code."""
    pending = session.get_pending(request, method.slug)
    device = method_flows.last_code(user=request.user, method=method, purpose=Purpose.REGISTER)
    if pending is None or device is None or device.destination != pending:
        # No code was sent to what the person last entered: never claim one was.
        return redirect("registration:method_start", slug=method.slug)
    # What the page names is where the code went, and what a right code will store.
    destination = device.destination
    form = CodeForm(posted(request))
    undelivered = ""
    if device.delivery_problem:
        problem = DeliveryProblem(device.delivery_problem)
        undelivered = refusal_message(
            method_flows.SendResult(method_flows.SendRefusal.DELIVERY_FAILED, problem=problem)
        )
    if request.method == "POST" and form.is_valid():
        outcome = method_flows.method_confirm(
            request=request,
            user=request.user,
            method=method,
            code=form.cleaned_data["code"],
            policy=policy,
        )
        if outcome is CheckOutcome.VERIFIED:
            session.clear_pending(request, method.slug)
            messages.success(
                request,
                _("%(method)s verified: %(value)s.")
                % {"method": method.label, "value": method.display(destination)},
            )
            record_when_complete(request, policy)
            return redirect("registration:overview")
        form.add_error("code", WAIT_A_MOMENT if outcome is CheckOutcome.THROTTLED else CODE_REFUSED)
    return render(
        request,
        "registration/code_verify.html",
        {
            "form": form,
            "method": method,
            "destination": method.display(destination),
            "undelivered": undelivered,
            "channels": method.channels(policy),
            "resend_in": seconds_until(next_at) if (next_at := device.next_send_at()) else None,
            "channel": device.channel,
            **code_steps(method, policy, "verify"),
        },
    )


# --- Security questions -----------------------------------------------------------------------


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@secure_page
def questions(request: HttpRequest) -> HttpResponse:
    method = REGISTRY["questions"]
    policy = Policy.load()
    if not method.is_enabled(policy):
        raise Http404
    if gate := needs_password(request):
        return gate
    form = QuestionsForm(posted(request), count=method.option(policy, "count"), user=request.user)
    if request.method == "POST" and form.is_valid():
        method_flows.questions_set(
            request=request, user=request.user, answers=form.cleaned_data["answers"], policy=policy
        )
        messages.success(request, _("Your security questions are saved."))
        record_when_complete(request, policy)
        return redirect("registration:overview")
    return render(
        request,
        "registration/questions.html",
        {"form": form, "method": method, **still_needed(request, policy)},
    )


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
