"""The helpdesk's list of directory passwords that need attention (the README's "Directory"):
who expires within N days, has expired, must change or is locked. Read with one paged search
for everyone in scope and kept for a minute (directory.password_life), never one directory
query per row; the email masked as on every helpdesk list; sortable; exportable as CSV."""

from __future__ import annotations

import csv
import datetime
import io
import re

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from audit.log import record
from audit.models import EventKind
from directory.accounts import config
from directory.password_life import WATCH_DAYS, Life, watched
from methods.masking import mask_email

from .views import BYTE_ORDER_MARK, cell, helpdesk_page

STATES = [
    # Unset, the list shows every state: the menu says so rather than showing the first one.
    ("", _("Any of these")),
    ("expiring", _("Expires within the days below")),
    ("expired", _("Expired")),
    ("must_change", _("Must change")),
    ("locked", _("Locked")),
]
SORTS = ("username", "name", "expires", "state")
PAGE_SIZE = 100


class LifeFilter(forms.Form):
    state = forms.ChoiceField(label=_("Show"), choices=STATES, required=False)
    days = forms.IntegerField(
        label=_("Days"),
        min_value=1,
        max_value=WATCH_DAYS,
        required=False,
        initial=14,
        help_text=_("Expiring within this many days (1 to 90; 14 unless set)."),
        # A text box with a number keypad, styled as the site's other boxes; the range is
        # checked on the server and said at the field.
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    sort = forms.ChoiceField(
        choices=[(s, s) for s in SORTS] + [("-" + s, s) for s in SORTS], required=False
    )


def state_of(life: Life, now: datetime.datetime) -> str:
    if life.locked:
        return "locked"
    if life.must_change:
        return "must_change"
    return "expired" if life.expired(now) else "expiring"


LABELS = {
    "locked": _("Locked"),
    "must_change": _("Must change"),
    "expired": _("Expired"),
    "expiring": _("Expiring"),
}


def _matching(lives, state: str, days: int, now: datetime.datetime) -> list[Life]:
    horizon = now + datetime.timedelta(days=days)
    if state == "expired":
        return [life for life in lives if life.expired(now)]
    if state == "must_change":
        return [life for life in lives if life.must_change]
    if state == "locked":
        return [life for life in lives if life.locked]
    if state == "expiring":
        return [life for life in lives if life.expires_at and now < life.expires_at <= horizon]
    return [
        life
        for life in lives
        if life.locked or life.must_change or (life.expires_at and life.expires_at <= horizon)
    ]


def _sorted(lives: list[Life], sort: str, now) -> list[Life]:
    far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    keys = {
        "username": lambda life: life.username,
        "name": lambda life: (life.last_name.lower(), life.first_name.lower(), life.username),
        "expires": lambda life: (life.expires_at or far, life.username),
        "state": lambda life: (state_of(life, now), life.username),
    }
    field = sort.lstrip("-") or "expires"
    return sorted(lives, key=keys[field], reverse=sort.startswith("-"))


def _rows(request: HttpRequest):
    form = LifeFilter(request.GET or None)
    clean = form.cleaned_data if form.is_bound and form.is_valid() else {}
    state = clean.get("state") or ""
    days = clean.get("days") or 14
    sort = clean.get("sort") or "expires"
    found = watched()
    now = timezone.now()
    rows = _sorted(_matching(found.people, state, days, now), sort, now)
    return form, found, rows, {"state": state, "days": days, "sort": sort}, now


@helpdesk_page
@require_GET
def password_life(request: HttpRequest) -> HttpResponse:
    if not config().enabled:
        return render(request, "helpdesk/password_life.html", {"no_directory": True})
    form, found, rows, chosen, now = _rows(request)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = f"state={chosen['state']}&days={chosen['days']}"
    context = {
        "form": form,
        "page": page,
        "rows": [_display(life, now) for life in page.object_list],
        "read_at": found.read_at,
        "chosen": chosen,
        "query_string": query,
    }
    return render(request, "helpdesk/password_life.html", context)


def _display(life: Life, now) -> dict:
    state = state_of(life, now)
    email = mask_email(life.email) if life.email else ""
    return {
        "username": life.username,
        "name": life.name,
        # Masked already in the cache (directory.password_life); masking again changes nothing
        # and keeps this page masked whatever it is given (docs/security.md rule 20).
        "email": email,
        # Where a long address may break on a phone: before the "@" and each dot.
        "email_pieces": re.split(r"(?=[@.])", email) if email else [],
        "expires_at": life.expires_at,
        "days_left": life.days_left(now),
        "state": state,
        "state_label": LABELS[state],
    }


@helpdesk_page
@require_GET
def password_life_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, _found, rows, chosen, now = _rows(request) if config().enabled else (0, 0, [], {}, 0)

    def chunks():
        buffer = io.StringIO()
        buffer.write(BYTE_ORDER_MARK)
        writer = csv.writer(buffer)
        writer.writerow(["username", "name", "email", "expires_at", "state"])
        for count, life in enumerate(rows, start=1):
            row = _display(life, now)
            expires = row["expires_at"].isoformat() if row["expires_at"] else ""
            writer.writerow(
                [cell(row[k]) for k in ("username", "name", "email")] + [expires, row["state"]]
            )
            if count % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    record(EventKind.HELPDESK_EXPORT, request=request, list="password_life", **chosen)
    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="directory-passwords.csv"'
    return response
