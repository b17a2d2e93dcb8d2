"""Sessions opened with a temporary access pass: they end when the pass does, they count as a
recent password check while they last (registration.session), and they reach only the
registration pages (/ssprsetup/), never the helpdesk or the admin."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from methods import cooling, proof
from registration import session as registration_session

from .flows import expire_due
from .models import AccessPass

SESSION_KEY = "sspr_access_pass"
# What a pass session may open besides the pages below /ssprsetup/.
ALLOWED_PREFIXES = ("/ssprsetup/", "/i18n/", "/static/", "/favicon")


def mark(request, item) -> None:
    """After sign-in with `item`: the session ends with the pass."""
    request.session[SESSION_KEY] = {"id": item.pk, "until": int(item.expires_at.timestamp())}
    request.session.set_expiry(item.expires_at)
    registration_session.mark_password_checked(request)
    proof.mark_proved(request)
    # The helpdesk checked the person before the pass: what they add does not cool off.
    cooling.never_in_this_session(request)


def pass_id(request) -> int | None:
    marker = request.session.get(SESSION_KEY)
    if isinstance(marker, dict) and isinstance(marker.get("id"), int):
        return marker["id"]
    return None


def until(request) -> int | None:
    """When this session's pass ends (a Unix time), or None for an ordinary session."""
    marker = request.session.get(SESSION_KEY)
    if isinstance(marker, dict) and isinstance(marker.get("until"), int):
        return marker["until"]
    return None


class AccessPassSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The session only (read by the sign-in interrupt anyway); the user only for a pass.
        ends = until(request)
        if ends is None or not request.user.is_authenticated:
            return self.get_response(request)
        now = time.time()
        if now >= ends:
            expire_due()
            logout(request)
            messages.info(
                request,
                _("Your temporary access pass has expired, so you were signed out."),
            )
            return redirect("accesspass:signin")
        if not AccessPass.objects.filter(
            pk=pass_id(request) or 0, ended_at__isnull=True, expires_at__gt=timezone.now()
        ).exists():
            # Ended before its time: replaced by a new one (an agent who issued it for the
            # wrong person issues another), or ended by the helpdesk. Its sessions end with it.
            logout(request)
            messages.info(
                request,
                _("Your temporary access pass was ended, so you were signed out."),
            )
            return redirect("accesspass:signin")
        checked = request.session.get(registration_session.PASSWORD_CHECKED_AT)
        if not isinstance(checked, int) or now - checked >= 60:
            # The pass counts as the proof for changing methods while it lasts (the password
            # check and the proof with a method, methods/proof.py).
            registration_session.mark_password_checked(request)
            proof.mark_proved(request)
        if request.path == reverse("registration:password"):
            # Without the old password: the pass's own page sets a new one.
            return redirect("accesspass:password")
        if not request.path.startswith(ALLOWED_PREFIXES):
            return redirect("registration:overview")
        return self.get_response(request)
