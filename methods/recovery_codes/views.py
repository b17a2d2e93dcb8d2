"""The recovery codes' pages: make a set at /ssprsetup/recovery-codes/ (shown once, with copy,
print and a text download; no JavaScript needed but for copy), and use one at
/passwordreset/recovery-codes/ on the one "type a proof" page (methods/pages.py)."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from methods import lifecycle
from methods.pages import proof_reset_view, setup_page, still_needed

from . import codes
from .forms import NewSetForm, RecoveryCodeForm


def _download(request: HttpRequest, shown: list[str]) -> str:
    """The codes as a text file, in a data: link: downloaded without another request, so the
    codes are never kept on the server to serve it."""
    lines = [
        _("Recovery codes for %(account)s") % {"account": request.user.get_username()},
        _("Made %(when)s. Each code works once.")
        # With its zone, as every time the site shows (README, "Languages").
        % {"when": timezone.localtime().strftime("%Y-%m-%d %H:%M %Z")},
        "",
        *shown,
        "",
    ]
    return "data:text/plain;charset=utf-8," + quote("\r\n".join(lines))


@require_http_methods(["GET", "POST"])
@setup_page
def setup(request: HttpRequest, method, policy) -> HttpResponse:
    form = NewSetForm(request.POST if request.method == "POST" else None)
    context = {"method": method, "form": form, **still_needed(request, policy, method)}
    if request.method == "POST" and form.is_valid():
        # The set and its notice together: a notice the queue cannot take is held in the
        # database (delivery.outbox); when even that fails, the answer is the "temporarily
        # unavailable" page, and the set made would never be shown, so none is kept: the
        # earlier codes keep working, as that page says (tests/methods/recovery_codes).
        with transaction.atomic():
            # A form without a stamp (drawn before forms carried one) is taken as it comes.
            made = codes.make_set(request.user, replacing=form.cleaned_data["replacing"] or None)
            if made is not None:
                shown, replaced = made
                lifecycle.added(
                    request=request,
                    method=method,
                    policy=policy,
                    replaced=replaced,
                    count=len(shown),
                    message=_("New recovery codes made. The earlier ones no longer work.")
                    if replaced
                    else _("Recovery codes made."),
                )
        if made is not None:
            # Shown in this answer only: the codes are not stored, nor put in the session.
            return render(
                request,
                "recovery_codes/new_set.html",
                {**context, "codes": shown, "download": _download(request, shown)},
            )
        # Sent again (a reload of the page that showed them), or from a page opened before a
        # set was made elsewhere (a second tab): the set made then works.
        messages.info(
            request,
            _(
                "Nothing new was made: your recovery codes changed after this page was opened "
                "(in another window, or this form was sent twice). The codes shown when they "
                "were made are the ones that work. To replace them, press the button again."
            ),
        )
    left, stamp = codes.standing(request.user)
    return render(
        request,
        "recovery_codes/setup.html",
        {
            **context,
            "form": NewSetForm(initial={"replacing": stamp}),
            "left": left,
            "low": left <= codes.WARN_AT,
            "has_set": left > 0,
        },
    )


reset = proof_reset_view(form_class=RecoveryCodeForm, check=codes.spend)
