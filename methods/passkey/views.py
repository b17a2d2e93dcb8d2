"""The passkey pages: add and name keys at /ssprsetup/passkey/, remove one, and prove identity
with one at /passwordreset/passkey/. The browser part is methods/passkey/static/passkey/
passkey.js; the options travel in a JSON data block, so the pages need no inline script."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from methods import cooling, lifecycle
from methods.pages import (
    NOT_VERIFIED,
    after_pass,
    offered_method,
    posted,
    reset_flow,
    reset_page,
    setup_page,
    still_needed,
)
from sspr_site.checks import host_fits_rp_id

from . import ceremony
from .models import Passkey

MOST_KEYS = 10
NEEDS_JAVASCRIPT = gettext_lazy(
    "This method needs JavaScript, which seems to be off or blocked. Turn it on and try again, "
    "or choose another method."
)


def not_for_this_address(request: HttpRequest) -> bool:
    """Whether the browser would refuse passkeys for this page's address: an IP address, or a
    host outside the passkey domain (SSPR_WEBAUTHN_RP_ID). The page then says so instead of
    offering a ceremony that cannot work; the same for every account (docs/security.md §38)."""
    return not host_fits_rp_id(urlsplit(f"//{request.get_host()}").hostname or "", ceremony.rp_id())


# Characters that show nothing though they are not format characters (Unicode's default
# ignorable code points outside Cf, assigned or not yet, and the blank Braille pattern): with
# them, a second key could look exactly like another, or a name like none.
INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2065\u2800\u3164\ufe00-\ufe0f\uffa0"
    "\ufff0-\ufff8\U000e0000-\U000e0fff]"
)


def plain_name(name: str) -> str:
    """A key's name as kept: compatibility-normalised, on one line (a line break or another
    control character is a space: the name goes into the notice's plain text, where it must not
    pass for the site's own words), without invisible characters, spaces run together."""
    plain = INVISIBLE.sub("", unicodedata.normalize("NFKC", name))
    kept = []
    for c in plain:
        category = unicodedata.category(c)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif category != "Cf":
            kept.append(c)
    return " ".join("".join(kept).split())


def comparable(name: str) -> str:
    """A key's name as two names are told apart: plain, lower case (the page's script,
    passkey.js `nameTaken`, does the same)."""
    return plain_name(name).lower()


# As long as the stored name may be (Passkey.name).
NAME_LENGTH = 60


class NameForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name of the key"),
        max_length=NAME_LENGTH,
        help_text=gettext_lazy("So you can tell your keys apart, e.g. “Work laptop”."),
        error_messages={"required": gettext_lazy("Give the key a name.")},
    )
    credential = forms.CharField(widget=forms.HiddenInput, required=False, max_length=20000)

    def clean_name(self):
        name = plain_name(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError(NameForm.base_fields["name"].error_messages["required"])
        # Again once normalised, which writes some characters out as several.
        if len(name) > NAME_LENGTH:
            raise forms.ValidationError(
                _(
                    "Use a shorter name: it may have at most %(limit)d characters, and some "
                    "characters count as several."
                )
                % {"limit": NAME_LENGTH}
            )
        return name


class AnswerForm(forms.Form):
    credential = forms.CharField(widget=forms.HiddenInput, required=False, max_length=20000)


class _NotAdded(Exception):
    """The form's refusal is on it already."""


def _refuse_unless_it_fits(form: NameForm, keys: list[Passkey]) -> None:
    """Raise _NotAdded, with the reason on `form`, when a key named so may not be added beside
    `keys`, or the form came without the browser's answer."""
    name = form.cleaned_data["name"]
    if comparable(name) in {comparable(key.name) for key in keys}:
        # Checked before the key is asked (passkey.js sends the form without asking it).
        form.add_error(
            "name",
            _(
                "You already have a key named “%(name)s”. Choose another name, so you "
                "can tell them apart."
            )
            % {"name": name},
        )
    elif len(keys) >= MOST_KEYS:
        form.add_error(None, _("You have the most keys allowed. Remove one first."))
    elif not form.cleaned_data["credential"]:
        form.add_error(None, NEEDS_JAVASCRIPT)
    else:
        return
    raise _NotAdded


@require_http_methods(["GET", "POST"])
@setup_page
def setup(request: HttpRequest, method, policy) -> HttpResponse:
    keys = None  # read under the lock when a key is sent, else for the page
    form = NameForm(posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                # One key added at a time per person: answers sent at once from several
                # windows are counted and named against each other, under the lock.
                lifecycle.lock_person(request.user.pk)
                keys = list(Passkey.objects.filter(user=request.user))
                _refuse_unless_it_fits(form, keys)
                key = ceremony.register(
                    request,
                    request.user,
                    name=form.cleaned_data["name"],
                    credential=form.cleaned_data["credential"],
                )
        except _NotAdded:
            pass
        except ceremony.Refused as refusal:
            form.add_error(None, refusal.message)
            status = 400
        else:
            # Another key beside those there: a change of the method (methods/lifecycle).
            lifecycle.added(
                request=request,
                method=method,
                policy=policy,
                replaced=bool(keys),
                # The notice names the key, and says the others are still there.
                masked=key.name,
                notice_action=gettext_lazy("another key added") if keys else "",
                message=_("Passkey “%(name)s” added.") % {"name": key.name},
            )
            return redirect("registration:overview")
    if keys is None:
        keys = list(Passkey.objects.filter(user=request.user))
    return render(
        request,
        "passkey/setup.html",
        {
            "method": method,
            "form": form,
            "keys": keys,
            # For the page's script: a name already taken is sent without asking the key.
            "taken_names": [comparable(key.name) for key in keys],
            "full": len(keys) >= MOST_KEYS,
            "remove_view": f"registration:{method.key}:remove_one",
            "options": ceremony.registration_options(request, request.user),
            "wrong_address": not_for_this_address(request),
            **still_needed(request, policy, method),
        },
        status=status,
    )


@require_POST
@setup_page
def remove_one(request: HttpRequest, method, policy, key_id: int) -> HttpResponse:
    key = Passkey.objects.filter(user=request.user, pk=key_id).first()
    deleted = key is not None and Passkey.objects.filter(pk=key.pk).delete()[0]
    if not deleted:  # removed already (in another tab): said, not passed over
        messages.info(request, _("That key was removed already, so there was nothing to remove."))
    if deleted:
        added = list(Passkey.objects.filter(user=request.user).values_list("created_at", flat=True))
        part_left = bool(added)
        lifecycle.removed(
            request=request,
            method=method,
            policy=policy,
            message=_("The key was removed."),
            part_left=part_left,
            # The keys left cool off only if one was added since the method began cooling.
            left_cools=part_left and cooling.may_cool(request.user, str(method.kind), added),
            # The notice names the key, and says whether others are still there.
            masked=key.name,
            notice_action=gettext_lazy("one key removed, others kept") if part_left else "",
        )
    return redirect(method.setup_url())


@reset_page
def reset(request: HttpRequest, state, method_key: str) -> HttpResponse:
    """The browser signs this attempt's challenge with a passkey for this site. The page is
    the same for every account: it lists no keys."""
    if not state.action:
        return redirect("passwordreset:action")
    method, _policy = offered_method(state, method_key)
    form = AnswerForm(posted(request))
    if request.method == "POST" and form.is_valid():
        credential = form.cleaned_data["credential"]
        if not credential:
            form.add_error(None, NEEDS_JAVASCRIPT)
        elif reset_flow("reset_prove")(
            request=request,
            state=state,
            method=method,
            check=lambda user_id: ceremony.check_assertion(request, user_id, credential),
        ):
            return after_pass(request, state)
        else:
            form.add_error(None, NOT_VERIFIED)
    return render(
        request,
        "passkey/reset.html",
        {
            "form": form,
            "method": method,
            "options": ceremony.authentication_options(request),
            "wrong_address": not_for_this_address(request),
        },
    )
