"""The pages of temporary access passes: the helpdesk's (issue, approve, show once) and the
person's (sign in with the pass, set a new password without the old one)."""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets
import time
from contextlib import suppress

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from audit.log import record
from audit.models import EventKind
from directory.accounts import (
    ACCOUNT_DISABLED,
    ACCOUNT_GONE,
    DIRECTORY_DOWN,
    REFUSED_BY_DIRECTORY,
    AccountDisabled,
    AccountMissing,
    ChangeUnconfirmed,
    DirectoryRefused,
    DirectoryUnavailable,
    PasswordRefused,
    accounts,
    end_sessions,
    password_rules,
)
from directory.lockout import clear_failures_of
from directory.middleware import record_refusal
from helpdesk.views import (
    check_was_spent,
    checked_person,
    helpdesk_page,
    mark_check_spent,
    method_label,
    spend_check,
    still_checks,
    unspend_check,
)
from methods import not_me
from passwordreset.flows import notify_user
from passwordreset.forms import NewPasswordForm
from passwordreset.views import CHANGE_UNCONFIRMED
from policy.models import Policy
from registration import address_limit
from registration.pages import posted, secure_page
from sspr_site.conf import app_settings as site_settings

from . import flows
from .forms import CHECK_SPENT, IssueForm, PassSignInForm
from .middleware import mark, until
from .models import AccessPass, Verification

BACKEND = "accesspass.backends.AccessPassBackend"
# --- The helpdesk: issue, approve, show once ---------------------------------------------------


# Each issue form carries a random name (not a secret). The first request that sends it claims
# the name in the shared cache, on whichever host it lands, and keeps there the pass it opened:
# the same form sent again (the page reloaded, two clicks, a proxy's retry, even at the same
# moment) opens no second pass, which would end the first one just shown.
SENT_FORM_SECONDS = 3600
FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
CLAIMED = 0  # the first request is still opening its pass


class CheckSpent(flows.Refused):
    """The caller check was spent on a pass already (CHECK_SPENT)."""


def _form_key(request: HttpRequest, token: str) -> str:
    return f"sspr:pass-form:{request.user.pk}:{token}"


def _claim(key: str, seconds: int):
    """None when this request is the first to send the form whose `key` this is (or the first
    one left nothing); else what the first one left there, waiting a few seconds for it, or
    CLAIMED when it is still at work."""
    for _wait in range(50):
        if cache.add(key, CLAIMED, timeout=seconds):
            return None
        earlier = cache.get(key)
        if earlier is not None and earlier != CLAIMED:
            return earlier
        time.sleep(0.1)
    return CLAIMED


def _claim_form(request: HttpRequest, token: str) -> int | None:
    """The issue form's claim (_claim): the pass the first copy opened."""
    return _claim(_form_key(request, token), SENT_FORM_SECONDS) if token else None


def _release_form(request: HttpRequest, token: str) -> None:
    """This request opened no pass: the form may be sent again."""
    if token:
        cache.delete(_form_key(request, token))


@helpdesk_page
@require_http_methods(["GET", "POST"])
def issue(request: HttpRequest, user_id: int) -> HttpResponse:
    flows.expire_due()
    policy = Policy.load()
    # 404 for anyone out of the helpdesk's sight; the caller check, while its method still
    # checks a caller.
    subject, check, dropped = checked_person(request, policy, user_id)
    token = request.POST.get("form_token", "") if request.method == "POST" else ""
    # The page's own names only (secrets.token_urlsafe): anything else, not ours, is no name,
    # and never part of a cache key.
    token = token if FORM_TOKEN.fullmatch(token) else ""
    if (earlier := _claim_form(request, token)) is not None:
        return _sent_already(request, earlier, user_id)
    try:
        return _issue(request, policy, subject, user_id, token, check, dropped)
    except BaseException:
        _release_form(request, token)
        raise


def _replaces(request: HttpRequest) -> int | None:
    """The open pass the issue page showed (its hidden field): None for none; an id no pass
    has for anything that is not one."""
    value = request.POST.get("replaces", "")
    if value == "":
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else -1


def _issue(
    request: HttpRequest,
    policy,
    subject,
    user_id: int,
    token: str,
    check: str | None,
    dropped: str | None,
) -> HttpResponse:
    form = IssueForm(
        posted(request),
        check_label=method_label(check),
        dropped_label=dropped,
        spent=check_was_spent(request, user_id),
    )
    form.offer_check(reverse("helpdesk:verify_start", args=[user_id]))
    context = {
        "form_token": secrets.token_urlsafe(16),
        "subject": subject,
        "form": form,
        "own": subject.pk == request.user.pk,
        "two_people": (two_people := flows.needs_two_people(subject)),
        # Said before the form is filled in: a request nobody can approve would only lapse.
        "no_approver": two_people
        and not flows.has_approver(besides=[subject, request.user])
        and flows.NO_APPROVER,
        "policy": policy,
        "current": flows.open_pass(subject),
        "turned_off": flows.TURNED_OFF if flows.turned_off(subject) else None,
        # After "That wasn't me" the person cannot change methods until the helpdesk turns
        # self-service on again: a pass would let them sign in, not register.
        "paused": not_me.is_paused(subject.pk),
    }
    if context["own"]:
        _release_form(request, token)
        return render(request, "accesspass/issue.html", context, status=403)
    if request.method == "POST" and form.is_valid():
        verification = form.cleaned_data["verification"]
        on_check = verification == Verification.CALLER_CHECK
        began = timezone.now()
        try:
            if on_check and not spend_check(request, user_id):
                mark_check_spent(request, user_id)
                raise CheckSpent(CHECK_SPENT)
            item = flows.request_pass(
                request=request,
                user=subject,
                agent=request.user,
                verification=verification,
                note=form.cleaned_data["note"],
                check_method=check if on_check else "",
                # Another tab, or a colleague, may have given the person a pass since this
                # page was shown: a new one would end it, perhaps as it is read out.
                replaces=_replaces(request),
            )
        except flows.Refused as refusal:
            if on_check and not isinstance(refusal, CheckSpent):
                unspend_check(request, user_id)
            _release_form(request, token)
            form.add_error(None, refusal.message)
        except BaseException:
            # Stopped by something else (the database, say): the check stays for the next try
            # unless a pass was opened on it all the same.
            if (
                on_check
                and not AccessPass.objects.filter(
                    user=subject, requested_by=request.user, requested_at__gte=began
                ).exists()
            ):
                unspend_check(request, user_id)
            raise
        else:
            mark_check_spent(request, user_id)  # one check, one pass
            # The pass is named to the same form sent again once it stands as it will (shown,
            # or waiting for approval), so that the other answer says where it stands.
            response = (
                redirect("accesspass:request", pk=item.pk)
                if item.needs_approval
                else _show(request, item)
            )
            if token:
                cache.set(_form_key(request, token), item.pk, timeout=SENT_FORM_SECONDS)
            return response
    else:
        _release_form(request, token)
    return render(request, "accesspass/issue.html", context)


def _sent_already(request: HttpRequest, earlier: int, user_id: int) -> HttpResponse:
    """The form was sent before: nothing new is issued. Its request page says where the pass
    stands (waiting for approval, shown, ended)."""
    if earlier == CLAIMED:
        messages.info(
            request,
            _(
                "This form was sent already and is still being handled. Nothing new was issued; "
                "look at the person's page again in a moment."
            ),
        )
        return redirect("helpdesk:user", user_id=user_id)
    if AccessPass.objects.filter(pk=earlier, issued_at__isnull=False).exists():
        messages.info(
            request,
            _(
                "This form was sent already, and its pass was shown once. Nothing new was "
                "issued. If the pass is lost, issue a new one from the person's page."
            ),
        )
    return redirect("accesspass:request", pk=earlier)


def _check_still_holds(item: AccessPass) -> None:
    """A pass asked for on a caller check is approved and shown only while the check's method
    still checks the person's caller: one that began to cool off since, or that the person
    reported as not theirs, grounds nothing (docs/security.md rules 68 and 69). Raises
    Refused."""
    if item.verification != Verification.CALLER_CHECK or not item.check_method:
        return
    if not still_checks(Policy.load(), item.user_id, item.check_method):
        raise flows.Refused(
            _(
                "The caller check this pass was asked for with counts no more: "
                "%(method)s was changed since. Check the caller again and issue a new pass."
            )
            % {"method": method_label(item.check_method)}
        )


@sensitive_variables("value")
def _show(request: HttpRequest, item: AccessPass) -> HttpResponse:
    """The pass, once: in this response only (never cached, never in the session)."""
    try:
        _check_still_holds(item)
        value = flows.reveal(request=request, item=item, agent=request.user)
    except flows.Refused as refusal:
        messages.error(request, refusal.message)
        return redirect("accesspass:request", pk=item.pk)
    item.refresh_from_db()
    sign_in_url = site_settings.SITE_URL + reverse("accesspass:signin")
    return render(
        request,
        "accesspass/shown.html",
        {"item": item, "value": value, "sign_in_url": sign_in_url},
    )


def _visible(request: HttpRequest, pk: int) -> AccessPass:
    item = get_object_or_404(AccessPass.objects.select_related("user", "requested_by"), pk=pk)
    if item.requested_by_id != request.user.pk and not flows.may_approve(request.user):
        raise Http404
    return item


@helpdesk_page
@require_http_methods(["GET", "POST"])
def request_status(request: HttpRequest, pk: int) -> HttpResponse:
    """A request for an administrator account: waiting, approved (then its requester shows the
    pass), or lapsed. Approvers approve here."""
    flows.expire_due()
    item = _visible(request, pk)
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "show":
            return _show(request, item)
        if action == "approve":
            try:
                _check_still_holds(item)
                flows.approve(request=request, item=item, approver=request.user)
            except flows.Refused as refusal:
                error = refusal.message
            else:
                messages.success(
                    request, _("Approved. The agent who asked can now show the pass once.")
                )
                return redirect("accesspass:request", pk=item.pk)
        else:
            error = _("Choose approve or show.")
    context = {
        "item": item,
        "mine": item.requested_by_id == request.user.pk,
        "may_approve": flows.may_approve(request.user)
        and request.user.pk not in (item.requested_by_id, item.user_id),
        "error": error,
        "now": timezone.now(),
    }
    return render(request, "accesspass/request.html", context, status=400 if error else 200)


@helpdesk_page
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    """Requests waiting for a Helpdesk administrator (everyone on the helpdesk may read it)."""
    flows.expire_due()
    waiting = AccessPass.objects.filter(
        ended_at__isnull=True,
        needs_approval=True,
        approved_at__isnull=True,
        deadline__gt=timezone.now(),
    ).select_related("user", "requested_by")
    return render(
        request,
        "accesspass/approvals.html",
        {"waiting": waiting, "may_approve": flows.may_approve(request.user)},
    )


# --- The person: sign in with the pass, then set a new password -------------------------------


@sensitive_post_parameters("access_pass")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """The username and the pass. The same lockout (django-axes, per name) and the same limit
    per client address as the sign-in page, and the same sentence for a wrong pass as for a
    wrong password."""
    flows.expire_due()
    form = PassSignInForm(request, posted(request))
    if request.method == "POST":
        if address_limit.reached(request):
            # Not checked, not counted: the form is shown again, empty, with why.
            context = {"form": PassSignInForm(request, None), "refusal": address_limit.TOO_MANY}
            return render(request, "accesspass/signin.html", context, status=429)
        if form.is_valid():
            user = form.user
            item = user.access_pass
            login(request, user, backend=BACKEND)
            mark(request, item)
            flows.used(request=request, item=item)
            return redirect("accesspass:welcome")
        if address_limit.checked_and_refused(form):  # as the sign-in page counts
            address_limit.count_failure(request)
    return render(request, "accesspass/signin.html", {"form": form})


def pass_page(view):
    """Signed in with a pass that still works, in the policy's scope; never cached."""

    def wrapper(request, *args, **kwargs):
        if until(request) is None:
            return redirect("registration:overview")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return secure_page(wrapper)


@pass_page
@require_GET
def welcome(request: HttpRequest) -> HttpResponse:
    ends = datetime.datetime.fromtimestamp(until(request), tz=datetime.UTC)
    return render(request, "accesspass/welcome.html", {"until": ends})


def told_if_sent_again(view):
    """The new password's form sent again (a retry, a reload) once the first copy set it and
    gave the session a new key: this copy comes signed out, and is told what was done, not
    just "sign in"."""

    def wrapper(request, *args, **kwargs):
        sent = _password_form_key(request)
        if sent and not request.user.is_authenticated and cache.get(sent) == _SET:
            messages.success(request, gettext_lazy("Your new password is set. Sign in with it."))
            response = redirect("registration:signin")
            add_never_cache_headers(response)
            return response
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@sensitive_post_parameters("new_password1", "new_password2")
@told_if_sent_again
@pass_page
@require_http_methods(["GET", "POST"])
def set_password(request: HttpRequest) -> HttpResponse:
    """A new password without the old one: the pass proved who this is. Set in the account
    store as a reset would be (in the directory under its policy) and checked by the site's
    validators first. This session stays signed in; every other one ends."""
    user = request.user
    form = NewPasswordForm(user, posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        sent = _password_form_key(request)
        # The same form sent twice at once (a double click): one copy sets the password, once;
        # the other says what that copy did.
        earlier = _claim(sent, SENT_AGAIN_SECONDS) if sent else None
        if earlier == _SET:
            messages.success(request, PASSWORD_SET)
            return redirect("registration:overview")
        if earlier is not None:  # still at work after a few seconds
            form.add_error(None, SENT_TWICE)
        else:
            status = _apply(request, user, form.cleaned_data["new_password1"], form)
            if sent:  # best effort: the password's fate is settled and said either way
                with suppress(Exception):
                    if status is None:
                        cache.set(sent, _SET, SENT_AGAIN_SECONDS)
                    else:
                        cache.delete(sent)  # refused: the same form may be sent corrected
            if status is None:
                messages.success(request, PASSWORD_SET)
                return redirect("registration:overview")
    return render(
        request,
        "accesspass/password.html",
        {
            "form": form,
            "rules": password_rules(user),
            "account": user.get_username(),
            "form_token": secrets.token_urlsafe(16),
        },
        status=status,
    )


PASSWORD_SET = gettext_lazy("Your new password is set. Use it from now on.")
SENT_TWICE = gettext_lazy(
    "This form was sent twice at once and the first is still being handled. Reload the page "
    "in a moment to see whether your new password was set."
)
# What a form that set the password leaves in the shared cache, under a hash of its token.
_SET = "set"
# How long a copy of the new password's form sent again is told what the first one did.
SENT_AGAIN_SECONDS = 300


def _password_form_key(request: HttpRequest) -> str:
    """The cache key of the new password's form this request sent ('' without one)."""
    token = request.POST.get("form_token", "") if request.method == "POST" else ""
    if not FORM_TOKEN.fullmatch(token):
        return ""
    return "sspr:pass-password:" + hashlib.sha256(token.encode()).hexdigest()


@sensitive_variables("password")
def _apply(request: HttpRequest, user, password: str, form) -> int | None:
    store = accounts()
    try:
        store.set_password(user, password)
    except PasswordRefused as refusal:
        record(EventKind.PASSWORD_REFUSED, request=request, subject=user, reason=refusal.reason)
        form.add_error("new_password1", refusal.message)
        return 200
    except ChangeUnconfirmed:
        # It may have been set: every other session ends, as a new password's would; this one
        # stays while the pass lasts, and the audit log says what is known (as at the portal).
        end_sessions(user)
        update_session_auth_hash(request, user)
        record(EventKind.PASSWORD_UNCONFIRMED, request=request, subject=user, store=store.kind)
        form.add_error(None, CHANGE_UNCONFIRMED)
        # Not a 5xx: this session, kept under the renewed password, is saved only below 500.
        return 200
    except DirectoryUnavailable:
        form.add_error(None, DIRECTORY_DOWN)
        return 503
    except DirectoryRefused as refusal:
        record_refusal(request, refusal, subject=user)
        form.add_error(None, REFUSED_BY_DIRECTORY)
        return 503
    except AccountMissing:
        form.add_error(None, ACCOUNT_GONE)
        return 200
    except AccountDisabled:
        # Turned off in the directory since the pass signed the person in (docs/security.md
        # §70): the password is not set.
        record(EventKind.PASSWORD_REFUSED, request=request, subject=user, reason="account_disabled")
        form.add_error(None, ACCOUNT_DISABLED)
        return 409
    clear_failures_of(user)
    update_session_auth_hash(request, user)
    marker = request.session.get("sspr_access_pass", {})
    record(
        EventKind.PASSWORD_RESET,
        request=request,
        actor=user,
        subject=user,
        via="access_pass",
        pass_id=marker.get("id") if isinstance(marker, dict) else None,
        store=store.kind,
    )
    if Policy.load().notify_users_on_reset:
        notify_user(user, "change")
    return None
