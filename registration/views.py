"""The /ssprsetup pages. Each view reads the request, calls one flow, and renders or redirects."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from audit.log import record
from audit.models import EventKind
from directory import expired
from directory.accounts import (
    ACCOUNT_GONE,
    DIRECTORY_DOWN,
    REFUSED_BY_DIRECTORY,
    AccountDisabled,
    AccountMissing,
    ChangeUnconfirmed,
    DirectoryRefused,
    DirectoryUnavailable,
    PasswordRefused,
    password_rules,
)
from directory.middleware import record_refusal
from methods import flows as method_flows
from methods import not_me
from methods.pages import reads_methods_first
from methods.registry import REGISTRY, by_slug
from methods.reset_rule import KnowledgeStanding
from passwords.validators import strength_answer
from policy.models import Policy
from sspr_site.shapes import Shape

from . import address_limit, session
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
    methods_at_start,
    methods_of,
    needs_proof,
    posted,
    reset_from,
    safe_return,
    secure_page,
)

# --- Signing in -------------------------------------------------------------------------------


# The name a person just changed their expired password for, filled in on the sign-in page.
SIGN_IN_NAME = "sspr_sign_in_name"


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class SignInView(auth_views.LoginView):
    # LoginView rotates the session key, and only follows `next` to this host. Failed sign-ins
    # lock the username (django-axes); this view also limits failures per client address.
    template_name = "registration/signin.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_initial(self):
        initial = super().get_initial()
        if self.request.method == "GET" and (name := self.request.session.pop(SIGN_IN_NAME, "")):
            initial["username"] = name
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Signing in on the way to the helpdesk's pages: the page says so, not "register".
        context["for_helpdesk"] = str(context.get("next") or "").startswith("/helpdesk/")
        return context

    def post(self, request, *args, **kwargs):
        if address_limit.reached(request):
            form = self.get_form()
            form.add_error(None, address_limit.TOO_MANY)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        # A directory that cannot be reached raises before this (directory.middleware): only
        # real failures count toward the address's limit, not a field left empty.
        if address_limit.checked_and_refused(form):
            address_limit.count_failure(self.request)
        return super().form_invalid(form)


class SignOutView(auth_views.LogoutView):
    """Sign out, and say so on the sign-in page it leads to."""

    def post(self, request, *args, **kwargs):
        signed_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if signed_in:
            messages.info(request, _("You have signed out."))
        return response


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
def change_password(request: HttpRequest) -> HttpResponse:
    """Change a known password: the current one, then the new one twice. The rules that will
    apply are listed before typing: the directory's (when there is one) and the site's.

    Someone not signed in reaches it from the sign-in, when the directory said their (right)
    password has expired or must change: they change it here, then sign in with the new one
    (the README's "Directory")."""
    if not request.user.is_authenticated and (needed := expired.ticket(request)):
        return _change_needed(request, *needed)
    return _change_signed_in(request)


@secure_page
def _change_signed_in(request: HttpRequest) -> HttpResponse:
    form = ChangePasswordForm(request.user, posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        status = _apply_change(request, request.user, form)
        if status is None:
            messages.success(request, _("Your password was changed."))
            return redirect("registration:overview")
    return render(
        request,
        "registration/change_password.html",
        {"form": form, "rules": password_rules(request.user)},
        status=status,
    )


@never_cache
def _change_needed(request: HttpRequest, user, reason: str) -> HttpResponse:
    policy = Policy.load()
    if not policy.in_scope(user):
        expired.spend(request)
        return render(request, "registration/out_of_scope.html", {"policy": policy})
    form = ChangePasswordForm(user, posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        status = _apply_change(request, user, form)
        if status is None:
            expired.spend(request)
            # The name is not asked for again: the sign-in page has it filled in.
            request.session[SIGN_IN_NAME] = user.get_username()
            messages.success(request, _("Your password was changed. Sign in with it now."))
            return redirect("registration:signin")
    context = {
        "form": form,
        "rules": password_rules(user),
        "change_needed": reason,
        "account": user.get_username(),
    }
    return render(request, "registration/change_password.html", context, status=status)


def _apply_change(request: HttpRequest, user, form) -> int | None:
    """Make the change; None when it was made, else the page's status (the form says why)."""
    try:
        password_change(
            request=request,
            user=user,
            current=form.cleaned_data["current_password"],
            new=form.cleaned_data["new_password1"],
        )
    except PasswordRefused as refusal:
        field = "current_password" if refusal.reason == "wrong_current" else "new_password1"
        form.add_error(field, refusal.message)
        return 200
    except TooManyWrongPasswords as held:
        if held.locked:
            message = _(
                "Your account is locked in the directory, so your current password was not "
                "tried: a locked account refuses even the right one. Unlock your account at "
                "the password reset page, then change your password here."
            )
        elif held.by_directory:
            # The directory's count, perhaps of failures elsewhere, that may never lapse by
            # itself (docs/security.md §40): unlocking at the portal clears it.
            message = _(
                "Your current password was not tried: the directory already counts so many "
                "wrong passwords, typed here or elsewhere, that one more could lock your "
                "account. Unlock your account at the password reset page to clear them, "
                "or reset your password there."
            )
        else:
            message = _(
                "Too many wrong current passwords. Wait an hour, or reset your password "
                "at the password reset page."
            )
        form.add_error(None, message)
        return 429
    except ChangeUnconfirmed:
        form.add_error(
            None,
            _(
                "The account directory stopped answering just after your new password was "
                "sent to it, so it is not known whether it took it. In a few minutes, try "
                "signing in with the new password; if it does not work, change it here again."
            ),
        )
        # Not a 5xx: this session, kept under the renewed password, is saved only below 500.
        return 200
    except DirectoryUnavailable:
        form.add_error(None, DIRECTORY_DOWN)
        return 503
    except DirectoryRefused as refusal:
        record_refusal(request, refusal, subject=user)
        form.add_error(None, REFUSED_BY_DIRECTORY)
        return 503
    except (AccountMissing, AccountDisabled):
        # Gone from the directory's scope, or turned off there since signing in.
        form.add_error(None, ACCOUNT_GONE)
        return 200
    return None


@sensitive_post_parameters("password")
@require_POST
@secure_page
def password_strength(request: HttpRequest) -> JsonResponse:
    """The meter on the change page: how hard the typed password is to guess. Nothing is
    stored or logged."""
    return JsonResponse(strength_answer(request.POST.get("password", ""), request.user))


# --- The overview and Finish ------------------------------------------------------------------


# A method's card, rendered once per language and shape (sspr_site/shapes.py).
CARD = Shape(
    "registration/includes/method_card.html",
    values=(
        *("label", "summary", "state_label", "masked", "note", "cooling_until"),
        *("confirm_url", "setup_url", "csrf_token"),
    ),
    shape=(
        *("slug", "state", "is_set", "user_managed", "paused"),
        *("masked", "note", "cooling_until", "confirm_url"),
    ),
)


def _card(status, method_status, csrf_token: str) -> SafeString:
    method = method_status.method
    cooling = status.cooling_until(method) if method_status.counts else None
    return CARD.render(
        {
            "slug": method.slug,
            "label": method.label,
            "summary": method.summary,
            "state": method_status.state.value,
            "state_label": method_status.state.label,
            "is_set": method_status.is_set,
            "user_managed": method.user_managed,
            # Nothing can be changed while self-service is paused: no button offers it.
            "paused": status.paused,
            "masked": method_status.masked,
            "note": _card_note(status, method),
            # As the template's date filter writes it: in the reader's time zone and language.
            "cooling_until": date_format(template_localtime(cooling), "DATETIME_FORMAT")
            if cooling
            else "",
            "confirm_url": method_status.confirm_url if method.user_managed else "",
            "setup_url": method.setup_url() if method.user_managed else "",
            "csrf_token": csrf_token,
        }
    )


@secure_page
def overview(request: HttpRequest) -> HttpResponse:
    status = registration_status(user=request.user, methods=methods_of(request))
    # The token only where a card has a form (a method waiting for its owner's confirmation).
    token = get_token(request) if any(each.confirm_url for each in status.methods) else ""
    cards = mark_safe("".join(_card(status, each, token) for each in status.methods))  # noqa: S308 - shaped, values escaped
    # Asked to register now only where the policy asks it at sign-in, and not while paused
    # (nothing can be registered then: methods/not_me.py).
    policy = Policy.load()
    interrupted = (
        session.interrupted(request)
        and policy.require_registration_at_sign_in
        and policy.in_scope(request.user)
        and not status.paused
    )
    return render(
        request,
        "registration/overview.html",
        {
            "status": status,
            "cards": cards,
            "interrupted": interrupted,
            "paused": status.paused,
            # Done only where it leads somewhere: back to the page the sign-in interrupted,
            # or the close of a registration just recorded.
            "offer_done": bool(
                request.session.get(session.RETURN_TO) or request.session.get(JUST_REGISTERED)
            ),
        },
    )


def _card_note(status, method) -> str:
    """What the person should know about a method: how it counts for them (methods.reset_rule),
    else the method's own note."""
    if status.standing(method) is KnowledgeStanding.NEVER:
        return _(
            "They never count for a password reset of an administrator account like yours: "
            "it needs two other methods."
        )
    return method.note(status.policy)


@require_POST
@secure_page
def finish(request: HttpRequest) -> HttpResponse:
    """Finish, or Done: the registration is recorded the moment enough methods count
    (registration.pages.record_when_complete), so this records only what is not recorded yet
    (a method that came without a step of the person's, a confirmation that is due) and then
    returns the person where they were heading."""
    policy = Policy.load()
    status = registration_status(user=request.user, policy=policy)
    just_registered = request.session.pop(JUST_REGISTERED, False)
    if not status.can_finish:
        messages.error(
            request,
            _("Set up and verify the methods your organisation requires before you finish."),
        )
        return redirect("registration:overview")
    if status.is_complete and not status.reconfirmation_due:
        outcome = None  # Done: already registered, nothing to record
    else:
        outcome = registration_finish(
            request=request, user=request.user, policy=policy, status=status
        )
    if outcome is EventKind.REGISTRATION_CONFIRMED:
        messages.success(request, _("Thank you. Your methods are confirmed."))
    elif (outcome is EventKind.REGISTRATION_COMPLETED or just_registered) and status.can_reset:
        messages.success(
            request,
            _(
                "Your registration is complete. If you forget your password or get locked "
                "out, you can now reset or unlock it yourself."
            ),
        )
    elif outcome is EventKind.REGISTRATION_COMPLETED or just_registered:
        messages.success(
            request,
            _(
                "Your registration is complete. As some methods were added or changed lately, "
                "you can reset or unlock your password yourself from %(when)s."
            )
            % {"when": reset_from(status)},
        )
    return redirect(safe_return(request, session.end_interrupt(request)))


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


# --- "That wasn't me" ------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def not_me_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link in a change notice (methods/not_me.py). Opening it only asks (a GET never acts:
    mail scanners open links); confirming undoes the change, ends every session of the
    account and pauses self-service for it until the helpdesk clears it. No sign-in: the
    person may have lost access to the account."""
    change = not_me.change_for(token)
    if change is None:
        return render(request, "registration/not_me.html", {"state": "invalid"}, status=410)
    method = next((m for m in REGISTRY.values() if str(m.kind) == change.method), None)
    context = {
        "change": change,
        "method_label": method.label if method else change.method,
        "username": change.user.get_username(),
    }
    if change.reported_at is None and request.method == "POST":
        done = not_me.report(request=request, change=change)
        if done is None:  # the other of two confirmations at once acted
            change.refresh_from_db(fields=["reported_at"])
    if change.reported_at is not None:
        # Used already (another tab, a second press): it says what holds, not that it failed.
        return render(
            request,
            "registration/not_me.html",
            {**context, "state": "reported", "paused": not_me.is_paused(change.user_id)},
        )
    if request.method == "POST":
        return render(
            request,
            "registration/not_me.html",
            {
                **context,
                "state": "done",
                "reverted": done.reverted,
                "restored": done.restored,
                "pass_ended": done.pass_ended,
            },
        )
    # A removal, or a change made again since, is not undone here: the page does not promise it.
    undoable = not_me.undoable(change) is not None
    return render(
        request, "registration/not_me.html", {**context, "state": "ask", "undoable": undoable}
    )


# --- Removing a method ------------------------------------------------------------------------

NOTHING_TO_REMOVE = gettext_lazy("%(method)s is not set up, so there was nothing to remove.")


@reads_methods_first
@require_http_methods(["GET", "POST"])
@secure_page
def method_remove(request: HttpRequest, slug: str) -> HttpResponse:
    method = by_slug(slug)
    if method is None or not method.user_managed:
        raise Http404
    policy = Policy.load()
    current = method.status(methods_at_start(request), policy)
    if not current.is_set:
        # Removed already (in another tab, say), or never set up: said, not passed over.
        messages.info(request, NOTHING_TO_REMOVE % {"method": method.label})
        return redirect("registration:overview")
    if gate := needs_proof(request):
        return gate
    if request.method == "POST":
        removed = _("%(method)s removed.") % {"method": method.label}
        # Said first: what follows from it (the registration ended) is said after.
        if not method_flows.method_remove(
            request=request, user=request.user, method=method, policy=policy, message=removed
        ):  # removed at the same moment elsewhere
            messages.info(request, NOTHING_TO_REMOVE % {"method": method.label})
        return redirect("registration:overview")
    # Said beforehand: removing it leaves only methods still cooling off (methods/cooling.py),
    # so the person can no longer reset on their own until the overview's date.
    status = registration_status(
        user=request.user, policy=policy, methods=methods_at_start(request)
    )
    can_now = status.can_reset_from is None and status.rule.allows(status.proof)
    after = status.without(method)
    waits_from = after.can_reset_from if can_now else None
    # Said beforehand too: removing it leaves the person short of the policy.
    ends_registration = after.lapses
    return render(
        request,
        "registration/method_remove.html",
        {
            "method": method,
            "current": current,
            "waits_from": waits_from,
            "ends_registration": ends_registration,
        },
    )
