"""The authenticator app's pages: set it up at /ssprsetup/authenticator/ (scan or type the key,
confirm with a first code) and prove identity with it at /passwordreset/authenticator/."""

from __future__ import annotations

import base64
import datetime
import time

import segno
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_totp.models import TOTPDevice

from methods import lifecycle, proof
from methods.models import CheckOutcome
from methods.pages import (
    let_in_by_its_proof,
    needs_proof,
    posted,
    proof_reset_view,
    setup_page,
    still_needed,
)
from methods.waits import wait_message
from sspr_site import field_keys

from .forms import AppCodeForm
from .method import (
    DRIFT_STEPS,
    PENDING_KEY,
    PENDING_SECONDS,
    SET_UP_MESSAGE,
    check_code,
    confirmed_devices,
)
from .models import AuthenticatorDevice

PENDING_NAME = "pending"
# Keys being set up at once for one person, one per session (a laptop and a phone): past it,
# a new one drops the oldest.
MOST_PENDING = 4


def _pending_device(request: HttpRequest) -> tuple[AuthenticatorDevice, bool]:
    """The device being set up in this session: a fresh key until a first code confirms it.
    Its key is this session's alone, for at most PENDING_SECONDS: another session, or a later
    one, gets a key of its own, so a key someone read once (with the person's password, or a
    pass the helpdesk was fooled into) is never the one the person confirms later, and their
    reloading the page never drops the person's (docs/security.md §37). Keys ended, and the
    oldest past MOST_PENDING, are dropped. A fresh one too if its key can no longer be opened,
    the field keys having changed. Also whether the session's key was replaced just now (it
    had one, which ended or was dropped)."""
    user = request.user
    held = request.session.get(PENDING_KEY)
    device = None
    if (
        isinstance(held, dict)
        and isinstance(held.get("id"), int)
        and isinstance(held.get("at"), int | float)
        and time.time() - held["at"] < PENDING_SECONDS
    ):
        device = AuthenticatorDevice.objects.filter(
            pk=held["id"], user=user, confirmed=False
        ).first()
    if device is not None:
        try:
            device.bin_key  # noqa: B018 - can it be opened?
        except field_keys.InvalidToken:
            device = None
    if device is None:
        pending = AuthenticatorDevice.objects.filter(user=user, confirmed=False)
        kept = pending.filter(
            created_at__gt=timezone.now() - datetime.timedelta(seconds=PENDING_SECONDS)
        ).order_by("-created_at", "-pk")[: MOST_PENDING - 1]
        pending.exclude(pk__in=list(kept.values_list("pk", flat=True))).delete()
        device = AuthenticatorDevice.objects.create(
            user=user, name=PENDING_NAME, confirmed=False, tolerance=DRIFT_STEPS
        )
        request.session[PENDING_KEY] = {
            "id": device.pk,
            "at": time.time(),
            "proved": proof.recently_proved(request),
        }
        return device, held is not None
    return device, False


def key_groups(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for typing into an app."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The setup link as a QR code, drawn on the server as SVG (no script, no image request).
    With a viewBox and no fixed size, so the page's style scales the whole code to its box
    rather than cutting off what does not fit."""
    return segno.make(device.config_url, error="m").svg_inline(
        scale=5, border=2, omitsize=True, title=_("QR code to scan with your authenticator app")
    )


@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
@setup_page
def setup(request: HttpRequest, method, policy) -> HttpResponse:
    device, replaced = _pending_device(request)
    # Setting the app up, the instructions above the field come first.
    form = AppCodeForm(posted(request), focus=False)
    outcome = None
    if request.method == "POST" and not replaced and form.is_valid():
        outcome = _confirm(request, method, device, form.cleaned_data["code"], policy)
        if outcome is CheckOutcome.VERIFIED:
            return redirect("registration:overview")
        if outcome is CheckOutcome.NO_CODE:
            # Its key was dropped meanwhile by another of the person's sessions confirming
            # its own: a new one, said as any replaced key is.
            device, _dropped = _pending_device(request)
            replaced, outcome = True, None
    if let_in_by_its_proof(request) and (gate := needs_proof(request)):
        # Let in for a right code alone: anything else asks for the password and the proof
        # before the page, and its key, is shown again.
        return gate
    if request.method == "POST" and replaced:
        # The code was made with the key that ended: not checked, and not counted.
        form.add_error(
            "code",
            _(
                "This key was replaced, so the code was not checked: add the new key below to "
                "your app, then enter its first code."
            ),
        )
    elif outcome is not None:
        if outcome is CheckOutcome.THROTTLED:
            device.refresh_from_db()
            form.add_error("code", wait_message(device))
        else:
            form.add_error(
                "code",
                _(
                    "That code is not right. Check the time on your phone is correct, wait for "
                    "the next code and enter it."
                ),
            )
    replacing = confirmed_devices(request.user.pk).exists()
    return render(
        request,
        "authenticator/setup.html",
        {
            "method": method,
            "form": form,
            "qr": qr_svg(device),
            "key": key_groups(device),
            "replacing": replacing,
            **still_needed(request, policy, method),
        },
    )


def _confirm(request: HttpRequest, method, device: TOTPDevice, code: str, policy) -> CheckOutcome:
    """A first right code makes the device count; it replaces an app set up before. Wrong
    codes back off as every code does (django-otp's throttling)."""
    with transaction.atomic():
        # One confirmation at a time per person: two sessions confirming their own keys at
        # once would each hold its key and wait for the other's, which it deletes below.
        lifecycle.lock_person(request.user.pk)
        device = AuthenticatorDevice.objects.select_for_update().filter(pk=device.pk).first()
        if device is None:  # dropped meanwhile by another of the person's sessions
            return CheckOutcome.NO_CODE
        if not device.verify_is_allowed()[0]:
            return CheckOutcome.THROTTLED
        if not device.verify_token(code):
            return CheckOutcome.WRONG
        # The app set up before goes, and so do the keys other sessions were setting up.
        others = TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk)
        replaced = others.filter(confirmed=True).delete()[0] > 0
        others.delete()
        device.confirmed = True
        device.name = str(method.label)
        device.save(update_fields=["confirmed", "name"])
    request.session.pop(PENDING_KEY, None)
    lifecycle.added(
        request=request,
        method=method,
        policy=policy,
        replaced=replaced,
        message=SET_UP_MESSAGE,
    )
    return CheckOutcome.VERIFIED


# A current code from the app, on the one "type a proof" page (methods/pages.py): every
# account gets the same page, work and answer.
reset = proof_reset_view(form_class=AppCodeForm, check=check_code)
