"""The /passwordreset pages. Each view loads the attempt's state, calls one flow, renders."""

from __future__ import annotations

import secrets
import time
from contextlib import suppress
from functools import partial, wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from directory.accounts import (
    ACCOUNT_DISABLED,
    ACCOUNT_GONE,
    REFUSED_BY_DIRECTORY,
    AccountDisabled,
    AccountMissing,
    ChangeUnconfirmed,
    DirectoryRefused,
    DirectoryUnavailable,
    PasswordRefused,
    accounts,
    password_rules,
)
from directory.accounts import available as directory_available
from directory.middleware import record_refusal
from methods import proof
from methods.registry import REGISTRY, UserMethods, enabled_methods
from passwords.validators import strength_answer
from policy.models import Policy
from sspr_site.kept_pages import render_kept
from sspr_site.shapes import Shape

from . import captcha, flows
from . import state as reset_state
from .forms import (
    ActionForm,
    NewPasswordForm,
    PasswordlessForm,
    StartForm,
)
from .state import Action

# Where a proof before a change returns to (a path on this site), kept in the session.
PROVE_NEXT = "sspr_prove_next"

# One sentence for every failed check, and for accounts that cannot use the portal at all.
METHODS_CHANGED = gettext_lazy(
    "Nothing was changed: a method you verified in this reset has been removed or changed on "
    "the account since. Start again, with a method the account has now."
)
ACCOUNT_CHANGED = gettext_lazy(
    "Nothing was changed: the account's password was set, or the account changed hands, "
    "since this reset began. Start again."
)
ACCOUNT_PRIVILEGED = gettext_lazy(
    "Nothing was changed: this account is now an administrator's, and an administrator's "
    "password is reset with two methods, never security questions. Start again."
)
NOT_VERIFIED = gettext_lazy(
    "We could not verify you with that. Check what you typed and try again, try another "
    "method, or contact your helpdesk."
)

# A step sent from a tab whose attempt a newer one in the same browser replaced (reset_page).
REPLACED = gettext_lazy(
    "A newer attempt was started in this browser after that page was opened, so what you sent "
    "there was not used and nothing was changed. Go on with the newer one here, or start again."
)

DIRECTORY_DOWN = gettext_lazy(
    "The account directory cannot be reached just now, so nothing was changed. Try again in a "
    "few minutes; you do not need to prove who you are again until this attempt ends."
)
# The directory stopped answering after the new password was sent, and could not be asked
# whether it took it (directory.accounts.ChangeUnconfirmed).
CHANGE_UNCONFIRMED = gettext_lazy(
    "The account directory stopped answering just after your new password was sent to it, "
    "so it is not known whether it took it. In a few minutes, try signing in with the new "
    "password; if it does not work, set a new password here again."
)
DIRECTORY_DOWN_START = gettext_lazy(
    "Password reset is unavailable just now: the account directory cannot be reached. Try "
    "again in a few minutes, or contact your helpdesk."
)


def posted(request: HttpRequest):
    return request.POST if request.method == "POST" else None


class AlreadyPassed(Exception):
    """A method's page, opened or sent after the method passed in this attempt."""


class NotOffered(Exception):
    """A method's page this attempt does not offer (one the person never registered, once
    another passed; or one the policy does not enable): opened from a bookmark, history or
    another tab."""


def reset_page(view):
    """Pages after the first: need a live attempt (15 minutes), never cached."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        state = reset_state.load(request)
        if state is None:
            # A step of an attempt this browser already finished (another tab, the back
            # button) says so, rather than that time ran out with nothing done.
            # One a method's change ended says that, not that time ran out.
            context = {"finished": _finished_here(request), "withdrawn": _withdrawn_here(request)}
            return render(request, "passwordreset/expired.html", context, status=200)
        request.reset_attempt = state.attempt  # includes/reset_attempt.html puts it in forms
        sent_for = request.POST.get("attempt") if request.method == "POST" else None
        try:
            if sent_for is not None and sent_for != state.attempt:
                response = _replaced(request, state)
            else:
                response = view(request, state, *args, **kwargs)
        except (AlreadyPassed, flows.PassedElsewhere):
            # A method's page from before it passed (another tab, the back button): on to
            # where the attempt stands, not a page that is not there.
            messages.info(request, _("That method has already been checked in this attempt."))
            response = redirect(flows.reset_after_pass(state))
        except flows.CheckUnderway:
            # Another window of this attempt is checking this method this very moment: nothing
            # here was checked, and the session is left as that window leaves it.
            messages.info(
                request,
                _(
                    "That method is being checked in another window of this reset. Wait for "
                    "its answer there, or try again in a moment."
                ),
            )
            return redirect(flows.reset_after_pass(state))
        except NotOffered:
            # Whether a method is offered depends on the policy alone until a method passed,
            # so this says nothing about the account before then.
            messages.info(request, _("That method cannot be used for this reset."))
            response = redirect(flows.reset_after_pass(state))
        # Every step saves the session, whatever happened in it: the same Set-Cookie for every
        # kind of account (docs/security.md, "No enumeration").
        request.session.modified = True
        return response

    return never_cache(require_http_methods(["GET", "POST"])(wrapper))


def _replaced(request: HttpRequest, state) -> HttpResponse:
    """The answer to a step sent from a tab whose attempt a newer one in this browser replaced
    (another name, the same again, or a check before a change): it is not this attempt's step,
    whatever it holds, and nothing of it is used. The page says so where the newer attempt
    stands; js/time-limit.js, asking for more time, is told so."""
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"replaced": True, "seconds_left": 0}, status=409)
    messages.warning(request, REPLACED)
    return redirect(flows.reset_after_pass(state) if state.action else "passwordreset:action")


@never_cache
@require_GET
def challenge(request: HttpRequest) -> JsonResponse:
    return JsonResponse(captcha.new_challenge())


def policy_shown() -> tuple:
    """What of the policy the layout shows (its footer's helpdesk contact), so that a change
    made any way, even one that bypasses the model's save, shows on the kept first page."""
    policy = Policy.load()
    return (policy.updated_at, policy.helpdesk_contact, policy.helpdesk_link)


@never_cache
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    # A username carried over from the locked-out page is filled in; nothing else is.
    initial = {"username": request.GET.get("username", "")[:150]}
    if request.GET.get("action") == Action.UNLOCK:  # from the locked-out page
        initial["action"] = Action.UNLOCK
    form = StartForm(posted(request), initial=initial)
    status, spent = 200, False
    if request.method == "POST" and form.is_valid():
        check = captcha.solved(form.cleaned_data["altcha"])
        without_script = (
            not check and form.cleaned_data["without_script"] and flows.starts_without_script()
        )
        if without_script:
            check = captcha.WITHOUT_SCRIPT
        resent = _resent_first_page(request, form.cleaned_data, check)
        if resent is not None:
            # The same first page sent again while the attempt it started is live (its answer
            # reloaded without JavaScript): its check is spent, so nothing starts; the answer
            # is that attempt's methods page, as its own address gives it.
            return _methods_page(request, resent, page_address=reverse("passwordreset:methods"))
        if without_script and not directory_available():
            # Before the budget is counted: a start the store could not make costs nothing.
            form.add_error(None, DIRECTORY_DOWN_START)
            status = 503
        elif not _check_passed(request, check):
            if without_script:
                form.add_error(None, WITHOUT_SCRIPT_LIMITED)
                status, spent = 429, True
            else:
                form.add_error(
                    None,
                    _(
                        "The automatic check did not finish. It needs JavaScript: turn it on, "
                        "wait until the check says it is done, then try again."
                    ),
                )
        elif not without_script and not directory_available():
            # The same for every name typed: the store is down for everyone.
            form.add_error(None, DIRECTORY_DOWN_START)
            status = 503
        else:
            result = flows.reset_begin(
                request=request,
                username=form.cleaned_data["username"],
                action=form.cleaned_data["action"],
                check=check,
            )
            if result is flows.StartRefusal.ADDRESS_LIMITED:
                # Counted for the network, whatever name was typed: an hour, and the helpdesk
                # cannot lift it.
                form.add_error(
                    None,
                    _(
                        "Too many password resets were started from your network in the last "
                        "hour. For your protection, try again in an hour."
                    ),
                )
                status = 429
            elif isinstance(result, flows.StartRefusal):
                form.add_error(
                    None,
                    _(
                        "Too many attempts. For your protection, password reset is paused for "
                        "a day; try again tomorrow or contact your helpdesk."
                    ),
                )
                status = 429
            else:
                _forget_ended(request)  # a new attempt
                if not result.action:  # a first page from before the choice was on it
                    return redirect("passwordreset:action")
                # The action chosen with the name: the methods page in this answer, a round
                # trip fewer than a redirect to it. Before a method passed it depends on the
                # policy alone, so it is the same for every name (docs/security.md, "No
                # enumeration"); it shows its own address (js/page-address.js).
                return _methods_page(request, result, page_address=reverse("passwordreset:methods"))
    if request.method == "GET":
        # The page a crowd reaches first: kept once rendered (sspr_site/kept_pages.py) unless
        # it carries something of the reader's (a name carried over comes in the query string,
        # which is never kept; an attempt under way shows its time limit).
        return render_kept(
            request,
            "passwordreset/start.html",
            {"form": form, "without_script": flows.starts_without_script()},
            version_of=policy_shown,
            kept=reset_state.load(request) is None,
        )
    # Past the budget without JavaScript, the page no longer invites going on without it.
    context = {"form": form, "without_script": flows.starts_without_script() and not spent}
    return render(request, "passwordreset/start.html", context, status=status)


WITHOUT_SCRIPT_LIMITED = gettext_lazy(
    "Too many resets were started without JavaScript in the last hour, from your network or "
    "from all networks together. Turn JavaScript on for this site and try again, or try again "
    "later."
)


def _check_passed(request: HttpRequest, check: str) -> bool:
    """A solved proof-of-work, spent now; or, from a browser without JavaScript, a start within
    that way's own budget (flows.start_without_script)."""
    if check == captcha.WITHOUT_SCRIPT:
        return flows.start_without_script(request)
    return captcha.spend(check)


def _resent_first_page(request: HttpRequest, sent: dict, check: str):
    """The live attempt this browser started with this very form (the same name, choice and
    solved check), or None."""
    state = reset_state.load(request)
    if state is None or not check or state.check != check:
        return None
    if check == captcha.WITHOUT_SCRIPT and (
        state.passed or state.questions or state.code_asked_at or state.extensions
    ):
        # Without JavaScript every first page carries the same check: one sent again once the
        # attempt is under way is a new start (within the budget), as a new solved check is.
        return None
    username = accounts().canonical_username(sent["username"])
    if (state.username, state.action) != (username, sent["action"]):
        return None
    return state


@never_cache
@login_required
@require_GET
def prove(request: HttpRequest) -> HttpResponse:
    """Before changing methods (registration's needs_proof): start a proof with one of the
    signed-in person's registered methods, or go on with the one already started."""
    next_url = safe_return(request, request.GET.get("next"))
    if proof.recently_proved(request):
        # Proved a moment ago (in another tab, or by a request that crossed the one that
        # sent the person here): there is nothing to prove again.
        return redirect(next_url)
    state = reset_state.load(request)
    if state is None or state.action != Action.PROVE or state.user_id != request.user.pk:
        state = flows.prove_begin(request=request, user=request.user)
        if state is not None:
            _forget_ended(request)  # a new attempt
        if state is None:
            messages.error(
                request,
                _(
                    "Too many attempts to prove it is you. For your protection, changes to "
                    "your security info are paused for an hour; contact your helpdesk if you "
                    "need help sooner."
                ),
            )
            return redirect("registration:overview")
    request.session[PROVE_NEXT] = next_url
    return redirect("passwordreset:methods")


def safe_return(request: HttpRequest, target: str | None) -> str:
    """`target` when it is a path on this site, else the setup overview."""
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return reverse("registration:overview")


def _prove_methods(request: HttpRequest, state, policy) -> HttpResponse:
    """The proof before a change: the person's own methods, strongest first; once one passed,
    back to the page that asked for it."""
    user = flows.state_user(state)
    if user is None or not request.user.is_authenticated or user.pk != request.user.pk:
        # Signed out, or another person's session: the proof belongs to no one here.
        reset_state.clear(request)
        return redirect("registration:overview")
    if flows.prove_passed(request=request, state=state, user=user):
        messages.success(
            request,
            _("Thank you. You can change your security info for the next few minutes."),
        )
        return HttpResponseRedirect(safe_return(request, request.session.pop(PROVE_NEXT, None)))
    offered = flows.offered_methods(state, policy, user)
    registered = UserMethods.load(user)
    csrf_token = get_token(request)  # one for the page's card forms
    return render(
        request,
        "passwordreset/prove.html",
        {
            "state": state,
            "methods": [
                _card(state, method, method.reset_hint(registered), policy, csrf_token)
                for method in offered
            ],
            "cancel_url": reverse("registration:overview"),
            # A number the policy's countries no longer include proves nothing (methods/proof).
            "unusable": proof.held_but_unusable(registered, policy),
        },
    )


@reset_page
def action(request: HttpRequest, state) -> HttpResponse:
    if state.action == Action.PROVE:
        # A proof before a change never becomes a reset (passwordreset/state.py).
        return redirect("passwordreset:methods")
    form = ActionForm(posted(request), initial={"action": state.action or None})
    if request.method == "POST" and form.is_valid():
        state.action = form.cleaned_data["action"]
        state.save(request)
        return redirect("passwordreset:methods")
    return render(request, "passwordreset/action.html", {"form": form, "state": state})


@reset_page
def methods(request: HttpRequest, state) -> HttpResponse:
    if not state.action:
        return redirect("passwordreset:action")
    return _methods_page(request, state)


def _methods_page(request: HttpRequest, state, *, page_address: str = "") -> HttpResponse:
    """The methods this attempt may use next; `page_address` when the page comes as the answer
    to the first page's form."""
    policy = Policy.load()
    if state.action == Action.PROVE:
        return _prove_methods(request, state, policy)
    user = flows.state_user(state)
    if flows.identity_proven(state, user, policy):
        return redirect("passwordreset:finish")
    # The person's methods, once a first method passed (the account is then known to them).
    registered = UserMethods.load(user) if state.passed and user is not None else None
    offered = flows.offered_methods(state, policy, user, registered)
    hints, new_passed = {}, []
    if registered is not None:
        # Only after a first method passed may the remaining ones be hinted, masked.
        hints = {method.key: method.reset_hint(registered) for method in offered}
        # And it may say why one that passed did not make the reset on its own: it cools off
        # (methods/cooling.py), until when.
        cools = registered.cooling
        new_passed = [
            (method.label, cools[str(method.kind)])
            for method in REGISTRY.values()
            if str(method.kind) in state.passed and str(method.kind) in cools
        ]
    # Methods that count only beside another (security questions, methods/reset_rule.py).
    beside_offered = any(not method.counts_alone for method in offered)
    csrf_token = get_token(request)  # one for the page's card forms
    return render(
        request,
        "passwordreset/methods.html",
        {
            "state": state,
            "methods": [
                _card(state, method, hints.get(method.key, ""), policy, csrf_token)
                for method in offered
            ],
            "needed": flows.still_needed(state, user, policy),
            "required": policy.reset_methods_required,
            # Said when such a method is offered and cannot stand alone.
            "questions_count_alone": policy.questions_alone_allowed if beside_offered else None,
            # Once a method passed the account is known to the person: say why such a method
            # is no longer offered to an administrator account.
            "privileged_no_questions": bool(state.passed)
            and not beside_offered
            and any(
                not method.counts_alone and not flows.counts_for_user(user, method)
                for method in enabled_methods(policy)
            ),
            # Typed as a mail, questions come after another method (flows.offered_methods).
            "questions_after_another": not state.passed
            and flows.typed_as_mail(state)
            and any(method.shows_the_persons_own for method in enabled_methods(policy)),
            "page_address": page_address,
            "new_passed": new_passed,
            # With nothing left to offer: from when what passed makes the reset on its own.
            "fresh_from": None if offered else flows.fresh_from(state, user, policy, registered),
        },
    )


# A method's form on its card (Method.reset_start_form): the same for every reader of a language
# but for the tokens, so rendered once per language and shape (sspr_site/shapes.py).
CARD_FORM = Shape(
    "passwordreset/card_form.html",
    values=("csrf_token", "attempt", "form_token"),
    shape=("key", "form_shape", "hinted", "attempt"),
)


def _card(state, method, hint: str, policy, csrf_token: str) -> tuple:
    """A method's card on the methods page: the method, its hint, its first page, and the form
    that page asks to fill when it can be filled on the card, with ids of its own, a token of
    its own (as the page draws it: methods/code/reset_views.py) and the attempt it belongs to
    (reset_page), also where the page is the first page's answer."""
    url = method.reset_url()
    form_shape = method.reset_start_form_shape(policy)
    if form_shape is None:
        return method, hint, url, ""
    hinted = bool(hint)
    form = CARD_FORM.render(
        {
            "key": method.key,
            "form_shape": form_shape,
            "hinted": hinted,
            "url": url,
            "label": method.label,
            # Drawn only the first time this shape is rendered in this language.
            "form": partial(
                method.reset_start_form, policy, auto_id=f"id_{method.key}_%s", hinted=hinted
            ),
            "csrf_token": csrf_token,
            "attempt": state.attempt,
            "form_token": secrets.token_hex(8),
        }
    )
    return method, hint, url, form


def shown_hint(state, method) -> str:
    """The masked hint a method's own reset page shows beside its form, as its card does: in
    a proof before a change, and in a reset once a first method passed; never before."""
    if not (state.passed or state.action == Action.PROVE):
        return ""
    user = flows.state_user(state)
    return method.reset_hint(UserMethods.load(user)) if user is not None else ""


def offered_method(state, key: str):
    """The method `key` when this attempt may still use it (AlreadyPassed when it passed in
    this attempt, NotOffered when the attempt does not offer it, 404 for no method at all)."""
    method = REGISTRY.get(key)
    if method is not None and str(method.kind) in state.passed:
        raise AlreadyPassed
    policy = Policy.load()
    # The account is read only once a method passed: the first step is the same for all.
    # A proof before a change is the signed-in person's own: their methods from the start.
    user = flows.state_user(state) if state.passed or state.action == Action.PROVE else None
    if method is None:
        raise Http404
    if method not in flows.offered_methods(state, policy, user):
        raise NotOffered
    return method, policy


@sensitive_post_parameters("new_password1", "new_password2")
@reset_page
def finish(request: HttpRequest, state) -> HttpResponse:
    """The last step: a new password (reset) or one button (unlock). Only once proven."""
    if not state.action:
        # Nothing is unlocked or reset that the person did not choose.
        return redirect("passwordreset:action")
    policy = Policy.load()
    user = flows.state_user(state)
    if not flows.identity_proven(state, user, policy):
        return redirect("passwordreset:methods")
    if state.action == Action.RESET:
        form = NewPasswordForm(user, posted(request))
        done = request.method == "POST" and form.is_valid()
        password = form.cleaned_data["new_password1"] if done else None
    else:
        form = PasswordlessForm(posted(request))
        done = request.method == "POST"
        password = None
    if request.method == "POST" and not done and flows.reset_already_made(state, user):
        # Sent again after it was made (its answer lost on the way), with a password the form
        # refuses now: not made twice, and the done page says the first change holds. A
        # password the form takes goes to the flow, which checks the same under the lock.
        return _done(request, state, made_before=True, notified=_notified_before(request))
    status, disabled = 200, False
    if done:
        try:
            finished = flows.reset_finish(
                request=request, state=state, user=user, password=password
            )
        except AccountDisabled:
            flows.refused_disabled(request, state, user)
            disabled, status = True, 409
        except flows.ProofWithdrawn as withdrawn:
            return _withdrawn(request, state, withdrawn.args[0])
        except flows.AccountChanged as changed:
            why = "account_privileged" if changed.args == ("privileged",) else "account_changed"
            return _withdrawn(request, state, state.passed, reason=why)
        except PasswordRefused as refusal:
            form.add_error("new_password1", refusal.message)
        except ChangeUnconfirmed:
            form.add_error(None, CHANGE_UNCONFIRMED)
            # Not a 5xx: the attempt, renewed for the account as this try left it (its
            # sessions ended), is saved only below 500, and the page says to try again here.
            status = 200
        except DirectoryUnavailable:
            form.add_error(None, DIRECTORY_DOWN)
            status = 503
        except DirectoryRefused as refusal:
            record_refusal(request, refusal, subject=user)
            form.add_error(None, REFUSED_BY_DIRECTORY)
            status = 503
        except AccountMissing:
            form.add_error(None, ACCOUNT_GONE)
        else:
            notified = finished.notified if finished.made else _notified_before(request)
            return _done(request, state, made_before=not finished.made, notified=notified)
    return _finish_page(request, state, user, form, status=status, disabled=disabled)


def after_pass(request: HttpRequest, state) -> HttpResponse:
    """The answer to a method that passed: once the reset rule is met, the last step's page in
    this response, one round trip fewer than a redirect to it (it shows its own address,
    js/page-address.js; a reload without JavaScript sends the method's form again, and the
    method, passed, leads here again); otherwise the methods page, for another method or to
    end a proof before a change (flows.reset_after_pass)."""
    if not state.action:
        return redirect("passwordreset:action")  # nothing is done that was not chosen
    user = flows.state_user(state)
    target = flows.reset_after_pass(state, user)
    if target != reverse("passwordreset:finish"):
        return redirect(target)
    form = NewPasswordForm(user) if state.action == Action.RESET else PasswordlessForm()
    return _finish_page(request, state, user, form)


def _finish_page(request, state, user, form, *, status=200, disabled=False) -> HttpResponse:
    """The last step's page: the new password form, or the unlock button, or why neither. Not
    once a method the attempt passed was changed or removed since it began: the form would
    be refused when sent (flows.reset_finish), so the attempt ends here and the first page
    says why, as it would then."""
    if withdrawn := flows.withdrawn_methods(state, user):
        return _withdrawn(request, state, withdrawn)
    if not flows.same_account(state, user):
        return _withdrawn(request, state, state.passed, reason="account_changed")
    rules, account_status = [], None
    # Only now, after the person proved who they are, is the account read: for an unlock,
    # and in the directory, where an account may be turned off that the site's copy still
    # calls active (the site's own inactive accounts never reach this step).
    if state.action != Action.RESET or accounts().kind != "none":
        with suppress(DirectoryUnavailable, DirectoryRefused, AccountMissing):
            account_status = accounts().status(user)
    disabled = disabled or bool(account_status and account_status.disabled)
    if state.action == Action.RESET and not disabled:
        rules = password_rules(user)
    return render(
        request,
        "passwordreset/finish.html",
        {
            "form": form if state.action == Action.RESET else None,
            "unlock_form": form if state.action != Action.RESET else None,
            "state": state,
            "account": user.get_username(),
            "rules": rules,
            "account_status": account_status,
            "disabled": ACCOUNT_DISABLED if disabled else None,
            # Its own address, also as the answer to a method's form (after_pass).
            "page_address": reverse("passwordreset:finish"),
        },
        status=status,
    )


def _withdrawn(request, state, kinds: list[str], reason: str = "methods_changed") -> HttpResponse:
    """The attempt ends, a method it passed (`kinds`) having been changed since it began, or
    the account itself (`reason` "account_changed"): the first page, saying why."""
    flows.withdraw(request, state, kinds, reason)
    request.session[WITHDRAWN_KEY] = {"at": time.time(), "reason": reason}
    messages.error(request, WITHDRAWN_BECAUSE.get(reason, METHODS_CHANGED))
    return redirect("passwordreset:start")


# When this browser's attempt last ended that way (_withdrawn): its steps, opened again within an
# attempt's lifetime, say why it ended.
WITHDRAWN_KEY = "sspr_reset_withdrawn"


def _forget_ended(request: HttpRequest) -> None:
    """A new attempt begins: how the ones before ended (finished, withdrawn) is theirs, not
    what its own steps say once it is over."""
    request.session.pop(FINISHED_KEY, None)
    request.session.pop(WITHDRAWN_KEY, None)


# Why an attempt ended with nothing done (_withdrawn), as its first page says it.
WITHDRAWN_BECAUSE = {
    "methods_changed": METHODS_CHANGED,
    "account_changed": ACCOUNT_CHANGED,
    "account_privileged": ACCOUNT_PRIVILEGED,
}


def _withdrawn_here(request: HttpRequest) -> str:
    """Why this browser's attempt last ended so (_withdrawn), within an attempt's lifetime:
    a key of WITHDRAWN_BECAUSE; "" otherwise."""
    ended = request.session.get(WITHDRAWN_KEY)
    if isinstance(ended, int | float):  # written before the reason was kept
        ended = {"at": ended, "reason": "methods_changed"}
    if not isinstance(ended, dict) or not isinstance(ended.get("at"), int | float):
        return ""
    if time.time() - ended["at"] >= reset_state.LIFETIME_SECONDS:
        return ""
    reason = ended.get("reason")
    return reason if reason in WITHDRAWN_BECAUSE else "methods_changed"


# The attempt this browser finished last, and when: its other tabs' steps say it was finished.
FINISHED_KEY = "sspr_reset_finished"


def _finished(request: HttpRequest) -> dict | None:
    """What this browser finished last (its action, and whether the change had been made
    before), within an attempt's lifetime; None otherwise."""
    finished = request.session.get(FINISHED_KEY)
    if not isinstance(finished, dict) or not isinstance(finished.get("at"), int | float):
        return None
    if time.time() - finished["at"] >= reset_state.LIFETIME_SECONDS:
        return None
    return finished


def _finished_here(request: HttpRequest) -> str | None:
    """The action of an attempt this browser finished within an attempt's lifetime, or None."""
    finished = _finished(request)
    return finished.get("action") if finished else None


def _notified_before(request: HttpRequest) -> int:
    """To how many addresses the first answer of a change already made said a notice went:
    known only where this browser's session kept it; otherwise the page does not say so."""
    notified = (request.session.get(FINISHED_KEY) or {}).get("notified")
    return notified if isinstance(notified, int) else 0


def _done(request: HttpRequest, state, *, made_before: bool, notified: int) -> HttpResponse:
    """The attempt ends: the done page in this answer, a round trip fewer than a redirect to
    it, showing its own address (js/page-address.js), where a reload shows it again."""
    reset_state.clear(request)
    # The person reset their own password while signed in here: that sign-in ends now, as the
    # new password ends it everywhere, before the record is written (ending it on the next
    # request would take the record with it).
    if request.user.is_authenticated and request.user.pk == state.user_id:
        logout(request)
    request.session[FINISHED_KEY] = {
        "action": str(state.action),
        "at": time.time(),
        "made_before": made_before,
        "notified": notified,
    }
    return _done_page(request, str(state.action), made_before=made_before, notified=notified)


def _done_page(
    request: HttpRequest, outcome: str, *, made_before: bool, notified: int
) -> HttpResponse:
    return render(
        request,
        "passwordreset/done.html",
        {
            "outcome": outcome,
            "made_before": made_before,
            "notified": notified,
            "page_address": reverse("passwordreset:done"),
        },
    )


@sensitive_post_parameters("password")
@never_cache
@require_POST
def strength(request: HttpRequest) -> JsonResponse:
    """How hard the typed password is to guess, for the meter on the new-password page. Only
    for an attempt that has proven who it is; nothing is stored or logged.

    It only reads the session: a meter request still on its way when the form is sent must
    not write the attempt back after the reset has cleared it."""
    state = reset_state.load(request)
    policy = Policy.load()
    user = flows.state_user(state) if state else None
    if state is None or not flows.identity_proven(state, user, policy):
        raise Http404
    return JsonResponse(strength_answer(request.POST.get("password", ""), user))


@never_cache
@require_POST
def more_time(request: HttpRequest) -> HttpResponse:
    """Another 15 minutes for this attempt (WCAG 2.2, 2.2.1), asked for with the button the
    pages show, or by js/time-limit.js when it warns. Without a live attempt: the "start
    again" page. The same for every account (docs/security.md, "No enumeration")."""
    state = reset_state.load(request)
    if state is None:
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"seconds_left": 0}, status=410)
        return render(request, "passwordreset/expired.html", status=200)
    if request.POST.get("attempt", state.attempt) != state.attempt:
        return _replaced(request, state)  # no time for the newer attempt from an older page
    extended = state.extend()
    state.save(request)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse(
            {
                "seconds_left": state.seconds_left,
                "extensions_left": state.extensions_left,
                "hint": reset_state.more_time_hint(state.extensions_left),
            },
            status=200 if extended else 409,
        )
    if extended:
        messages.success(request, _("You have another 15 minutes."))
    else:
        messages.error(request, _("No more time can be added to this attempt."))
    target = request.POST.get("next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("passwordreset:methods")
    # A path only, never a view name: whatever was posted cannot become a lookup.
    return HttpResponseRedirect(target)


@never_cache
@require_GET
def done(request: HttpRequest) -> HttpResponse:
    """The done page again (a reload), while the attempt this browser finished is recent."""
    finished = _finished(request)
    if finished is None:
        return redirect("passwordreset:start")
    return _done_page(
        request,
        str(finished.get("action")),
        made_before=bool(finished.get("made_before")),
        notified=_notified_before(request),
    )


def locked_out(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    username = request.POST.get("username", "")[:150] if request.method == "POST" else ""
    unlock_url = reverse("passwordreset:start")
    if username:
        unlock_url += "?" + urlencode({"username": username, "action": Action.UNLOCK})
    return render(request, "passwordreset/locked_out.html", {"unlock_url": unlock_url}, status=429)
