"""What a method's own pages need from the apps that mount them, in one place: plug-ins
(methods/<name>/views.py) import this module and never `registration` or `passwordreset`
(tests/methods/test_layers.py). The hosts are reached by the dotted module paths in
methods/conf.py (SSPR_METHOD_SETUP_HOST, SSPR_METHOD_RESET_HOST), looked up when a page is
first served, so `methods/` sits below the apps that mount it (README, "Architecture").

A setup host module provides `method_setup_page(view)`, `secure_page(view)`,
`needs_proof(request, *, with_password, with_proof, next_url)`,
`still_needed(request, policy, method)` and `in_language_of(user)`.
A reset host module provides `reset_page(view)`, `offered_method(state, key)` (whose
exception for a method that already passed `reset_page` answers), `after_pass(request, state)`,
`shown_hint(state, method)`,
`NOT_VERIFIED` and the steps a proof goes through: `reset_prove`, `state_user`,
`method_failed`, `method_passed`, `counts_for_user`, `digest`, `reset_send_code`,
`reset_check_code`, `reset_code_delivery`, `reset_code_more_time`, and `code_by_call(request)`
(whether the live code was asked for by a call).
"""

from __future__ import annotations

import functools
from importlib import import_module
from types import ModuleType

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import lazy
from django.views.decorators.debug import sensitive_post_parameters

from .conf import app_settings


def setup_host() -> ModuleType:
    return import_module(app_settings.METHOD_SETUP_HOST)


def reset_host() -> ModuleType:
    return import_module(app_settings.METHOD_RESET_HOST)


def posted(request: HttpRequest):
    """The submitted data on POST (even when empty, so it is validated), else None."""
    return request.POST if request.method == "POST" else None


def _hosted(decorator_name: str, host):
    """A decorator the host supplies, applied to `view` when the page is first served."""

    def decorate(view):
        @functools.wraps(view)
        def page(request, *args, **kwargs):
            if page.wrapped is None:
                page.wrapped = getattr(host(), decorator_name)(view)
            return page.wrapped(request, *args, **kwargs)

        page.wrapped = None
        return page

    return decorate


def reads_methods_first(view):
    """Marks a page whose first step reads the person's methods, before it changes anything
    (the proof check, needs_proof): the setup host may read the person with them, in one
    query (registration/middleware.py)."""
    view.person_with_methods = True
    return view


_setup_page = _hosted("method_setup_page", setup_host)


def setup_page(view):
    """A method's setup page: signed in and in scope, the URL's method enabled by the policy,
    a recent password check and proof with a registered method (methods/proof.py). The view
    gets (request, method, policy, ...)."""
    return reads_methods_first(_setup_page(view))


# A page of a setup flow that checks the password itself at its first step (methods/code):
# signed in and in scope, never cached.
secure_page = _hosted("secure_page", setup_host)
# A method's reset page: needs a live attempt, never cached, the same Set-Cookie for every
# account (docs/security.md §12). The view gets (request, state, method_key, ...).
reset_page = _hosted("reset_page", reset_host)


def still_needed(request: HttpRequest, policy, method=None) -> dict:
    """What a setup page says about counting (registration/includes/still_needed.html)."""
    return setup_host().still_needed(request, policy, method)


def methods_at_start(request: HttpRequest):
    """The signed-in person's methods as the request found them (the setup host's)."""
    return setup_host().methods_at_start(request)


def let_in_by_its_proof(request: HttpRequest) -> bool:
    """Whether a setup page's POST was let in only because its change began with a proof
    (Method.change_begun_with_proof): the view then takes a right code and nothing else, and
    answers anything else with needs_proof."""
    return bool(getattr(request, "sspr_change_begun_with_proof", False))


def needs_proof(
    request: HttpRequest,
    *,
    with_password: bool = True,
    with_proof: bool = True,
    next_url: str | None = None,
) -> HttpResponse | None:
    """A redirect to the password check, or to the proof with a registered method, when the
    last one is older than allowed (methods/proof.py); else None. `with_password` and
    `with_proof`: which of the two to ask for; `next_url`: where the check leads back to, when
    not this page."""
    return setup_host().needs_proof(
        request, with_password=with_password, with_proof=with_proof, next_url=next_url
    )


def in_language_of(user):
    """`with in_language_of(user):` writes to `user` in their own language (the setup host's
    registration.language, README "Languages")."""
    return setup_host().in_language_of(user)


def offered_method(state, key: str):
    """The method `key` and the policy, when this attempt may still use it; else 404. One that
    already passed in this attempt raises what the host's `reset_page` answers by leading on."""
    return reset_host().offered_method(state, key)


def reset_flow(name: str):
    """One of the reset portal's steps by name (see the module docstring)."""
    return getattr(reset_host(), name)


def shown_hint(state, method) -> str:
    """The masked hint the method's own reset page may show beside its form ("" when none)."""
    return reset_host().shown_hint(state, method)


def after_pass(request: HttpRequest, state) -> HttpResponse:
    """The answer to a method that passed at /passwordreset: the new password page, in this
    response, once the reset rule is met; the methods page otherwise (the portal's
    `after_pass`)."""
    return reset_host().after_pass(request, state)


# One sentence for every failed check at /passwordreset (docs/security.md §12).
NOT_VERIFIED = lazy(lambda: str(reset_host().NOT_VERIFIED), str)()


def proof_reset(
    request: HttpRequest,
    state,
    method_key: str,
    *,
    form_class,
    check,
    template: str = "methods/reset_proof.html",
    context: dict | None = None,
) -> HttpResponse:
    """The one "type a proof" reset page: one form field (the form's `proof_field`) holds what
    the person types (a code from an app, a recovery code), checked by `check(user_id, proof)`
    through the portal's `reset_prove` (at most a few tries an attempt, the same work and
    answer for every account, docs/security.md §12). The form's `title` and `lead` head the
    page."""
    if not state.action:
        return redirect("passwordreset:action")
    method, _policy = offered_method(state, method_key)
    form = form_class(posted(request))
    if request.method == "POST" and form.is_valid():
        field = getattr(form, "proof_field", "proof")
        proof = form.cleaned_data[field]
        if reset_flow("reset_prove")(
            request=request,
            state=state,
            method=method,
            check=lambda user_id: check(user_id, proof),
        ):
            return after_pass(request, state)
        form.add_error(field, NOT_VERIFIED)
    return render(request, template, {"form": form, "method": method, **(context or {})})


def proof_reset_view(*, form_class, check, template: str = "methods/reset_proof.html"):
    """`proof_reset` as a view for a method's reset_urlconf."""

    @sensitive_post_parameters()
    @reset_page
    def view(request: HttpRequest, state, method_key: str) -> HttpResponse:
        return proof_reset(
            request, state, method_key, form_class=form_class, check=check, template=template
        )

    return view
