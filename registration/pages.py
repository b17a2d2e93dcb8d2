"""What every /ssprsetup page shares, the built-in ones and each method's own
(methods/<name>/views.py): who may see it, the password check before a change, and recording
the registration the moment the verified methods meet the policy."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from methods import cooling, not_me, proof
from methods.registry import REGISTRY, UserMethods
from methods.reset_rule import KnowledgeStanding, proof_of
from policy.models import Policy

from . import session
from .flows import registration_finish, registration_status
from .language import in_language_of

__all__ = [
    "in_language_of",
    "method_setup_page",
    "needs_proof",
    "secure_page",
    "still_needed",
]


def posted(request: HttpRequest):
    """The submitted data on POST (even when empty, so it is validated), else None."""
    return request.POST if request.method == "POST" else None


def secure_page(view):
    """Signed-in users in the policy's scope only; never cached (every page is personal).
    While self-service is paused for the person (methods/not_me.py), nothing is sent: every
    POST gets the "paused" page and changes nothing."""

    @wraps(view)
    def in_scope(request, *args, **kwargs):
        policy = Policy.load()
        if not policy.in_scope(request.user):
            return render(request, "registration/out_of_scope.html", {"policy": policy})
        # Read with the person (methods/apps.py): no query of its own.
        if request.method == "POST" and not_me.paused(request.user):
            return paused_page(request)
        return view(request, *args, **kwargs)

    return never_cache(login_required(in_scope))


def paused_page(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/paused.html", status=403)


# Set on a request let through because its change began with a proof (method_setup_page).
CHANGE_BEGUN = "sspr_change_begun_with_proof"


def method_setup_page(view):
    """A method's own setup page (methods/<name>/views.py): signed in and in scope, the URL's
    method enabled by the policy, a recent password check and, once the person has a method
    that can prove who they are, a recent proof with it (needs_proof), except on the step that
    confirms a change begun with one (Method.change_begun_with_proof). The view is given the
    method and the policy."""

    @wraps(view)
    def wrapper(request, *args, method_key: str, **kwargs):
        method = REGISTRY[method_key]
        policy = Policy.load()
        if not method.is_enabled(policy):
            raise Http404
        if request.method == "POST" and (done := method.confirmed_meanwhile(request)):
            # Neither a proof nor the page again: the overview, as after the other tab's
            # answer. The message is kept in a cookie, and the session is left as it is: the
            # other answer replaces it, and a write to the one it ends would fail the request.
            messages.info(request, done)
            return redirect("registration:overview")
        # A confirming step of a change begun with a proof asks neither again; the pause holds.
        # The view lets only a right code through on that ground (CHANGE_BEGUN): anything else
        # it answers asks for both as any other page does.
        begun = request.method == "POST" and method.change_begun_with_proof(request)
        if gate := needs_proof(request, with_password=not begun, with_proof=not begun):
            return gate
        setattr(request, CHANGE_BEGUN, begun)
        return view(request, method, policy, *args, **kwargs)

    return secure_page(wrapper)


def safe_return(request: HttpRequest, target: str | None) -> str:
    """`target` when it stays on this site, else the overview."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("registration:overview")


def needs_proof(
    request: HttpRequest,
    *,
    with_password: bool = True,
    with_proof: bool = True,
    next_url: str | None = None,
) -> HttpResponse | None:
    """Adding, changing or removing a method needs (docs/security.md rules 23 and 66):

    - a password check within 10 minutes (signing in counts): a stolen, older session cannot
      add an attacker's address;
    - once the person has a method that can prove who they are, a proof with one of them
      within 5 minutes (methods/proof.py), through the reset portal's pages for that method:
      a phished password alone no longer changes how the account is recovered. A first
      registration needs the password only, and so does confirming what an administrator
      entered (`with_proof=False`). The code family's later steps ask for what they need
      again (methods/code/setup_views.py, change_gate).

    While self-service is paused for the person (methods/not_me.py), the "paused" page instead.
    `next_url`: where the check leads back to, when not this page (a step that takes a POST
    only).

    Returns the redirect to the missing check, or None."""
    registered = methods_at_start(request)
    if registered.paused:
        return paused_page(request)
    query = urlencode({"next": next_url or request.get_full_path()})
    if with_password and not session.password_recently_checked(request):
        return redirect(f"{reverse('registration:confirm_password')}?{query}")
    if not with_proof or proof.recently_proved(request):
        return None
    policy = Policy.load()
    if not proof.change_needs_proof(request.user, policy, registered):
        return None
    return redirect(f"{reverse('passwordreset:prove')}?{query}")


def methods_of(request: HttpRequest) -> UserMethods:
    """The signed-in person's methods. A GET changes nothing, so the checks of its page
    (needs_proof, still_needed) share one load; any other request loads them each time, as it
    may have changed them in between."""
    if request.method not in ("GET", "HEAD"):
        return UserMethods.load(request.user)
    loaded = getattr(request, "_sspr_methods", None)
    if loaded is None:
        # Read with the person when the page began (registration/middleware.py), if it was.
        loaded = request._sspr_methods = UserMethods.of_signed_in(request.user)
    return loaded


def methods_at_start(request: HttpRequest) -> UserMethods:
    """The signed-in person's methods as the request found them, for a check made before it
    changes anything (needs_proof): on a page marked `person_with_methods`
    (methods.pages.reads_methods_first), those read with the person when it began
    (registration/middleware.py); else as methods_of reads them. Worked out once a request:
    the checks before a change ask for them several times (a code's step: the gate, the
    proof, the value pending)."""
    if request.method in ("GET", "HEAD"):
        return methods_of(request)
    found = getattr(request, "_sspr_methods_at_start", None)
    if found is None:
        found = request._sspr_methods_at_start = UserMethods.of_signed_in(request.user)
    return found


JUST_REGISTERED = "sspr_just_registered"


def record_when_complete(
    request: HttpRequest, policy: Policy, methods: UserMethods | None = None
) -> None:
    """The moment the methods that count for this person (methods.reset_rule) meet the
    policy, the registration is recorded: someone who closes the page now is registered, not
    "not registered" while able to reset. The overview then says so, and its button is Done.
    `methods`: the person's methods when the caller has just loaded them."""
    status = registration_status(user=request.user, policy=policy, methods=methods)
    if status.can_finish and not status.is_complete:
        registration_finish(
            request=request, user=request.user, policy=policy, status=status, confirming=False
        )
        request.session[JUST_REGISTERED] = True
        if status.can_reset:
            said = _(
                "You are registered: you now have the methods your organisation requires, "
                "and you can reset your password yourself. Add more methods if you like; "
                "nothing else is needed."
            )
        else:
            # Methods added or changed lately count on their own only later (cooling-off).
            said = _(
                "You are registered: you now have the methods your organisation requires. "
                "As some were added or changed lately, you can reset your password yourself "
                "from %(when)s. Add more methods if you like; nothing else is needed."
            ) % {"when": reset_from(status)}
        messages.success(request, said)


def reset_from(status) -> str:
    """When the person can reset on their own, as the pages write a date and time."""
    when = status.can_reset_from
    return date_format(timezone.localtime(when), "DATETIME_FORMAT") if when else "—"


def still_needed(request: HttpRequest, policy: Policy, method=None) -> dict:
    """What a method's setup page says about counting (registration/includes/still_needed.html):
    how many more methods the person needs, and whether `method` (None: one that counts on its
    own) counts for them, by the one reset rule (methods.reset_rule)."""
    status = registration_status(user=request.user, policy=policy, methods=methods_of(request))
    if method is None or status.rule.would_count(status.proof, method):
        this_counts = "counts"
    elif status.standing(method) is KnowledgeStanding.NEVER:
        this_counts = "never"
    else:
        this_counts = "with_another"
    if this_counts == "counts" and method is not None:
        # Changing a method already held (a new number, another app) adds none.
        kind = str(method.kind)
        if any(held.counts and str(held.method.kind) == kind for held in status.methods):
            this_counts = "held"
    return {
        "still_needed": status.still_needed,
        "this_counts": this_counts,
        # A method added or changed now cools off (methods/cooling.py): said beforehand, of one
        # that would make a reset on its own for this person, with the policy's hours (the end
        # is set when it is verified; the overview then says the date).
        "cools_hours": policy.cooling_off_hours
        if method is not None
        and cooling.until_for(request, policy) is not None
        and status.rule.allows(proof_of([method], privileged=status.privileged, policy=policy))
        else None,
    }
