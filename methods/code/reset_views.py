"""The code family's reset pages at /passwordreset/<slug>/: type the whole registered number or
address (a code goes out only if it matches), then the code. Mounted once for each member."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from methods.conf import app_settings
from methods.forms import CodeForm
from methods.pages import (
    NOT_VERIFIED,
    after_pass,
    offered_method,
    posted,
    reset_flow,
    reset_page,
    shown_hint,
)

from . import more_time as more


@sensitive_post_parameters("number", "email")
@reset_page
def send(request: HttpRequest, state, method_key: str) -> HttpResponse:
    """Type the full registered number or address; a code goes out only if it matches."""
    if not state.action:
        return redirect("passwordreset:action")
    method, policy = offered_method(state, method_key)
    # Beside the masked number or address where the card showed it (a proof, a second method).
    hint = shown_hint(state, method)
    # Sent from here, or from the method's card on the methods page (passwordreset.views).
    form = method.reset_start_form(policy, posted(request), hinted=bool(hint))
    if request.method == "POST" and form.is_valid():
        channel = form.cleaned_data.get("channel") or method.channels(policy)[0]
        sent = reset_flow("reset_send_code")(
            request=request,
            state=state,
            method=method,
            destination=form.cleaned_data["destination"],
            channel=channel,
            form=request.POST.get("form", "")[:32],
        )
        if sent:
            # The code page comes in this response, as the setup's does: one round trip fewer.
            # Its form posts to the code page's own address; a reload without JavaScript sends
            # this form again, which asks for nothing while its code is live (flows).
            return _code_page(request, state, method, CodeForm())
        form.add_error(None, _("Too many codes were asked for in this attempt. Start again later."))
        return _send_page(request, form, method, hint, status=429)
    return _send_page(request, form, method, hint)


def _send_page(request: HttpRequest, form, method, hint: str, status: int = 200) -> HttpResponse:
    # Each time the page is drawn, a token of its own: sent again with the same token, the form
    # is the same form again, not a new request for a code (flows.reset_send_code).
    context = {"form": form, "method": method, "hint": hint, "form_token": secrets.token_hex(8)}
    return render(request, "code/reset_send.html", context, status=status)


@sensitive_post_parameters("code")
@reset_page
def code(request: HttpRequest, state, method_key: str) -> HttpResponse:
    method, _policy = offered_method(state, method_key)
    if state.code_method != str(method.kind):
        if request.method == "POST" and state.code_method:
            # Another window of this attempt asked for a code by another method since: the
            # attempt follows that one, and this code is not looked at. Said alike for every
            # name (the attempt alone decides it).
            messages.warning(
                request,
                _(
                    "This code was not checked: another window of this reset has since asked "
                    "for a code another way. Ask for a new code here, or go on in that window."
                ),
            )
        return redirect(method.reset_page("start"))
    form = CodeForm(posted(request))
    if request.method == "POST" and form.is_valid():
        if reset_flow("reset_check_code")(
            request=request, state=state, method=method, code=form.cleaned_data["code"]
        ):
            return after_pass(request, state)
        form.add_error("code", NOT_VERIFIED)
    return _code_page(request, state, method, form)


def _code_page(request: HttpRequest, state, method, form: CodeForm) -> HttpResponse:
    # Whether the request for a code has been handled: alike for every name (flows docstring).
    delivery = reset_flow("reset_code_delivery")(state, method)
    by_call = reset_flow("code_by_call")(request)
    if by_call:  # the person's own choice
        form.read_out()
    return render(
        request,
        "code/reset_code.html",
        {
            "form": form,
            "method": method,
            "delivery": delivery,
            "by_call": by_call,
            "page_address": method.reset_page("code"),
        },
    )


@require_POST
@reset_page
def more_time(request: HttpRequest, state, method_key: str) -> HttpResponse:
    """Another 10 minutes for the code this attempt asked for: decided from the attempt alone,
    so every name gets the same answer (docs/security.md, "No enumeration")."""
    method, _policy = offered_method(state, method_key)
    extended = reset_flow("reset_code_more_time")(request=request, state=state, method=method)
    return more.answer(
        request,
        extended,
        seconds_left=state.code_seconds_left if extended is not None else 0,
        extensions_left=max(0, app_settings.CODE_EXTENSIONS - state.code_extensions),
        back=method.reset_page("code"),
    )
