"""The helpdesk's list of directory passwords that need attention (the README's "Directory"):
who expires within N days, has expired, must change or is locked. Read with one paged search
for everyone in scope at most once a minute into a snapshot in the database
(directory.password_life), never one directory query per row; filtered, sorted and paged in
SQL, so a page or an export holds one page of rows; the email masked as on every helpdesk
list; sortable; exportable as CSV."""

from __future__ import annotations

import csv
import datetime
import io
import re

from django import forms
from django.core.paginator import Paginator
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from audit.log import record
from audit.models import EventKind
from directory.accounts import DirectoryRefused, DirectoryUnavailable, config
from directory.password_life import WATCH_DAYS, Life, StillReading, lives, watched
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


def _matching(rows: QuerySet, state: str, days: int, now: datetime.datetime) -> QuerySet:
    horizon = now + datetime.timedelta(days=days)
    if state == "expired":
        return rows.filter(expires_at__lte=now)
    if state == "must_change":
        return rows.filter(must_change=True)
    if state == "locked":
        return rows.filter(locked=True)
    if state == "expiring":
        return rows.filter(expires_at__gt=now, expires_at__lte=horizon)
    return rows.filter(Q(locked=True) | Q(must_change=True) | Q(expires_at__lte=horizon))


def _state(now: datetime.datetime) -> Case:
    """state_of() in SQL: the state's name, which the "state" sort orders."""
    return Case(
        When(locked=True, then=Value("locked")),
        When(must_change=True, then=Value("must_change")),
        When(expires_at__lte=now, then=Value("expired")),
        default=Value("expiring"),
    )


def _sorted(rows: QuerySet, sort: str, now: datetime.datetime) -> QuerySet:
    """Each sort ends with the username, so a page's place is stable; "-" reverses it all.
    "expires" puts who never expires last (first, reversed)."""
    down = sort.startswith("-")
    keys = {
        "username": [F("username")],
        "name": [Lower("last_name"), Lower("first_name"), F("username")],
        "expires": [F("expires_at"), F("username")],
        "state": [_state(now), F("username")],
    }[sort.lstrip("-") or "expires"]
    order = [key.desc() if down else key.asc() for key in keys]
    if sort.lstrip("-") in ("", "expires"):
        # Who never expires is as far in the future as can be: last, and first reversed.
        expires = F("expires_at")
        order[0] = expires.desc(nulls_first=True) if down else expires.asc(nulls_last=True)
    return rows.order_by(*order)


def _rows(request: HttpRequest):
    form = LifeFilter(request.GET or None)
    clean = form.cleaned_data if form.is_bound and form.is_valid() else {}
    state = clean.get("state") or ""
    days = clean.get("days") or 14
    sort = clean.get("sort") or "expires"
    found = watched()
    now = timezone.now()
    rows = _sorted(_matching(found.rows, state, days, now), sort, now)
    return form, found, rows, {"state": state, "days": days, "sort": sort}, now


def _unreachable(request: HttpRequest) -> HttpResponse:
    """The directory cannot be read and no list was read from it before: said on the
    helpdesk's own page, with its menu (not the sign-in's outage page)."""
    response = render(request, "helpdesk/password_life.html", {"unreachable_now": True}, status=503)
    response["Retry-After"] = "60"
    return response


def _still_reading(request: HttpRequest) -> HttpResponse:
    """Another request is reading the directory and no list has been read yet."""
    response = render(request, "helpdesk/password_life.html", {"still_reading": True}, status=503)
    response["Retry-After"] = "60"
    return response


@helpdesk_page
@require_GET
def password_life(request: HttpRequest) -> HttpResponse:
    if not config().enabled:
        return render(request, "helpdesk/password_life.html", {"no_directory": True})
    try:
        form, found, rows, chosen, now = _rows(request)
    except StillReading:
        return _still_reading(request)
    except (DirectoryUnavailable, DirectoryRefused):
        return _unreachable(request)
    # Counted and sliced in the database: one page of rows is read.
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = f"state={chosen['state']}&days={chosen['days']}"
    context = {
        "form": form,
        "page": page,
        "rows": [_display(life, now) for life in lives(page.object_list)],
        "read_at": found.read_at,
        "unreachable": found.unreachable,
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
        # Masked already when stored (directory.password_life); masking again changes nothing
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
def password_life_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if config().enabled:
        try:
            _form, _found, rows, chosen, now = _rows(request)
        except StillReading:
            return _still_reading(request)
        except (DirectoryUnavailable, DirectoryRefused):
            return _unreachable(request)
        people = lives(rows)  # streamed from the database, a chunk at a time
    else:
        people, chosen, now = iter(()), {}, 0

    def chunks():
        buffer = io.StringIO()
        buffer.write(BYTE_ORDER_MARK)
        writer = csv.writer(buffer)
        writer.writerow(["username", "name", "email", "expires_at", "state"])
        for count, life in enumerate(people, start=1):
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
