"""The /helpdesk pages: read registration status, never change it (verify-a-caller aside)."""

from __future__ import annotations

import csv
import datetime
import io
import math
import re
import secrets
import time
from dataclasses import replace
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.log import record
from audit.models import Event, EventKind
from delivery.models import FailedDelivery
from directory.accounts import AccountStatus, DirectoryRefused, DirectoryUnavailable, accounts
from directory.lockout import site_lockout
from methods import flows as method_flows
from methods import not_me
from methods.forms import CodeForm
from methods.models import Channel, CheckOutcome, Purpose, SelfServiceBlock, VerificationCode
from methods.registry import (
    REGISTRY,
    UserMethods,
    cooling_annotations,
    cooling_of_row,
    method_for_kind,
)
from methods.reset_rule import ResetRule
from passwordreset import flows as reset_flows
from policy.models import Policy
from registration.language import in_language_of
from registration.queries import RegistrationState
from sspr_site.admin_search import SEARCH_LIMIT
from sspr_site.paging import BoundedPaginator

from . import report as activity
from . import second_person
from .forms import CALLER_CHECK, CallerVerifiedForm, VerifyStartForm
from .status import Row, directory, export_header, export_rows, method_filters

PERMISSION = "helpdesk.use_helpdesk"
PAGE_SIZE = 50
PAUSED_SHOWN = 20  # people with paused self-service listed above the status list
EVENTS_SHOWN = 20  # a person's newest events on their page; all of them on their events page
EVENTS_PAGE = 50
NAME_SORTS = ("username", "-username")


# Approving temporary access passes (accesspass): the menu links the approvals for it.
APPROVE_PERMISSION = "accesspass.approve_access_pass"


def helpdesk_permissions(user) -> set[str]:
    """Which of the helpdesk's two permissions the person holds, given to them or to one of
    their groups, in one query (the permission system would read the two kinds separately)."""
    if not user.is_active:
        return set()
    if user.is_superuser:
        return {PERMISSION, APPROVE_PERMISSION}
    wanted = Q()
    for permission in (PERMISSION, APPROVE_PERMISSION):
        app_label, codename = permission.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    rows = (
        Permission.objects.filter(wanted)
        .filter(Q(user=user) | Q(group__user=user))
        .values_list("content_type__app_label", "codename")
        .distinct()
    )
    return {f"{app_label}.{codename}" for app_label, codename in rows}


def helpdesk_page(view):
    """Signed in, with the helpdesk permission; everyone else gets 403. Never cached. The
    page knows whether the person may approve passes (`request.helpdesk_may_approve`)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        held = helpdesk_permissions(request.user)
        if PERMISSION not in held:
            raise PermissionDenied
        request.helpdesk_may_approve = APPROVE_PERMISSION in held
        return view(request, *args, **kwargs)

    return never_cache(login_required(wrapper))


def _filters(request: HttpRequest) -> dict[str, str]:
    return {
        "query": request.GET.get("q", "").strip()[:SEARCH_LIMIT],
        "state": request.GET.get("state", ""),
        "method": request.GET.get("method", ""),
        "can_reset": request.GET.get("can_reset", ""),
        "sort": request.GET.get("sort", "username"),
    }


@helpdesk_page
@require_GET
def status_list(request: HttpRequest) -> HttpResponse:
    policy = Policy.load()
    filters = _filters(request)
    if len(request.GET.get("q", "").strip()) > SEARCH_LIMIT:
        messages.warning(
            request,
            _("Only the first %(limit)d characters of the search were used.")
            % {"limit": SEARCH_LIMIT},
        )
    users = directory(policy, **filters)
    paginator = BoundedPaginator(users, PAGE_SIZE)
    # Sorting by state or by date means reading every row in the list: a list longer than the
    # bound is shown by name, and the page says why.
    sort_refused = paginator.capped and filters["sort"] not in NAME_SORTS
    if sort_refused:
        paginator.object_list = users.order_by("username", "pk")
    page = paginator.get_page(request.GET.get("page"))
    rule = ResetRule.of(policy)
    rows = [Row.of(user, rule) for user in page.object_list]
    # A day's block after too many reset attempts (passwordreset.flows) refuses a reset by
    # username whatever the methods: one read of the cache for the page's rows.
    blocked = reset_flows.reset_blocked_names([row.username for row in rows])
    rows = [replace(row, reset_blocked=row.username in blocked) for row in rows]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "helpdesk/status_list.html",
        {
            "page": page,
            "rows": rows,
            "filters": filters,
            "states": RegistrationState.choices,
            "methods": [(key, label) for key, (label, _q) in method_filters().items()],
            "query_string": query.urlencode(),
            "sort_refused": sort_refused,
            "bound": paginator.bound,
            # Paused self-service first, whatever the filters (methods/not_me.py), of the
            # people the helpdesk may see (a pause can outlive a change of the policy's
            # scope): one query.
            "paused": SelfServiceBlock.objects.filter(
                user__in=policy.scoped_users(get_user_model().objects.all()).values("pk")
            )
            .select_related("user")
            .order_by("-created_at")[:PAUSED_SHOWN],
        },
    )


# A cell a spreadsheet would read as a formula (or a command) starts with one of these
# (docs/security.md §27).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Phone numbers start with "+" (E.164, and the masked form "+44 ••••••••56"), which a
# spreadsheet reads as a formula or a number. They are written as RFC 3966 phone URIs
# ("tel:+44 ••••••••56"): shown as text, read right by a person, and the
# number after "tel:" exactly as the helpdesk's pages show it.
PHONE_PREFIX = "tel:"
# Spreadsheets read a CSV file without a byte-order mark in the system's legacy encoding: the
# mask's bullets and accented names would come out garbled.
BYTE_ORDER_MARK = "\ufeff"


def cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: formula-like values get a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def phone_cell(value) -> str:
    """A phone column's cell: empty, or the number as a tel: URI."""
    text = "" if value is None else str(value)
    return cell(PHONE_PREFIX + text if text else "")


def _phone_columns(header: list[str]) -> set[int]:
    kinds = {str(m.kind) for m in REGISTRY.values() if getattr(m, "reset_form", "") == "phone"}
    return {index for index, name in enumerate(header) if name in kinds}


@helpdesk_page
@require_GET
def export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered list as CSV, streamed in chunks: constant memory for any number of users."""
    policy = Policy.load()
    users = directory(policy, **_filters(request))

    def chunks():
        # A thousand rows to a chunk: the response is written in few, large pieces.
        buffer = io.StringIO()
        buffer.write(BYTE_ORDER_MARK)
        writer = csv.writer(buffer)
        header = export_header()
        phones = _phone_columns(header)
        writer.writerow(header)
        for count, row in enumerate(export_rows(users, ResetRule.of(policy)), start=1):
            writer.writerow(
                [
                    phone_cell(value) if index in phones else cell(value)
                    for index, value in enumerate(row)
                ]
            )
            if count % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    record(EventKind.HELPDESK_EXPORT, request=request)
    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="registration-status.csv"'
    return response


def _user(policy: Policy, user_id: int, **annotations):
    user = directory(policy).filter(pk=user_id).annotate(**annotations).first()
    if user is None:  # unknown or out of scope: nothing to show
        raise Http404
    return user


def _checkable(policy: Policy, user_id: int) -> tuple[Row, list, list]:
    """The person, the methods a caller can be checked with, and those left out while they
    cool off (methods/cooling.py): a method added or changed lately proves no more to the
    helpdesk than it does to the reset portal, where it counts on its own only once it has
    cooled off (docs/security.md rule 69). Whoever changed it may be the one calling."""
    user = _user(policy, user_id, **cooling_annotations())
    row = Row.of(user, ResetRule.of(policy))
    return row, *_check_options(user, row, policy)


def _check_options(user, row: Row, policy: Policy) -> tuple[list, list]:
    """The methods a caller can be checked with, less those cooling off, and those, each with
    when it counts on its own (`user` read with cooling_annotations)."""
    cooling = cooling_of_row(user)
    new = {method.key for method, _until in cooling}
    if row.paused_at:
        # Paused after "That wasn't me": no method changed in the week before checks anyone.
        changed = not_me.changed_lately(user)
        new |= {key for key, method in REGISTRY.items() if str(method.kind) in changed}
    options = [(key, label) for key, label in _verifiable(row, policy) if key not in new]
    return options, [(method.label, until) for method, until in cooling]


def account_status(user) -> tuple[AccountStatus | None, bool]:
    """The account's state in the store (one directory query), and whether it answered."""
    try:
        return accounts().status(user), True
    except (DirectoryUnavailable, DirectoryRefused):
        return None, False


@helpdesk_page
@require_GET
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    return _detail_page(request, user_id)


def _detail_page(
    request: HttpRequest,
    user_id: int,
    *,
    resume: CallerVerifiedForm | None = None,
    block: CallerVerifiedForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The person's page; with a form to turn self-service on again or to lift a block on
    resets that was sent and refused, that form with its errors."""
    policy = Policy.load()
    in_directory = accounts().kind != "none"
    # The directory says when a password was set; for the site's own accounts, its audit log.
    here = {} if in_directory else {"password_here": _last_password_set_here()}
    # With when each method stops cooling off (methods/cooling.py), in the same query.
    user = _user(policy, user_id, **cooling_annotations(), **here)
    # A block by username refuses the person's resets; one by their mail (where the portal
    # takes it) only that spelling's. Either is lifted here.
    blocks = reset_flows.reset_blocks(user)
    blocked_until = max(blocks.values(), default=None)
    row = replace(Row.of(user, ResetRule.of(policy)), reset_blocked="name" in blocks)
    events, more_events, _older = _events_of(user_id, count=EVENTS_SHOWN)
    account, answered = account_status(user)
    verify, cooling = _check_options(user, row, policy)
    checked_kind = passed_check(request, user_id, verify)
    checked = method_label(checked_kind)
    dropped = dropped_check(request, user_id, checked_kind)
    resume = resume or _verified_form(None, "resume", checked, dropped)
    block = block or _verified_form(None, "block", checked, dropped)
    verify_url = reverse("helpdesk:verify_start", args=[user_id]) if verify else None
    for form in (resume, block):
        form.offer_check(verify_url)
    two_people, asked = False, {}
    if row.paused_at or blocked_until:
        two_people = second_person.needs_second_person(user, helpdesk_permissions(user))
        episodes = _episodes(row.paused_at, blocked_until)
        asked = _asked_by(second_person.asks(user_id, episodes)) if two_people else {}
    return render(
        request,
        "helpdesk/user_detail.html",
        {
            # The page's own address, also when it answers a refused form sent to another one
            # (the language picker leads back to it).
            "page_address": reverse("helpdesk:user", kwargs={"user_id": user_id}),
            # How the caller was verified, asked before either action (CallerVerifiedForm).
            "resume_form": resume,
            "block_form": block,
            "row": row,
            "why": row.why(policy),
            "reset_blocked": {
                which: datetime.datetime.fromtimestamp(until, tz=datetime.UTC)
                for which, until in blocks.items()
            },
            "events": events,
            "more_events": more_events,
            # Whether a caller check has a method to use (those cooling off left out).
            "verify": verify,
            "undelivered": FailedDelivery.objects.filter(user_id=user_id)[:20],
            "account": account,
            "account_answered": answered,
            "site_lockout": (account and account.site_lockout) or site_lockout(user.get_username()),
            # New methods cooling off (methods/cooling.py), with when each counts on its own.
            "cooling": cooling,
            "in_directory": in_directory,
            "password_here": getattr(user, "password_here", None),
            # Whether lifting a pause or block takes two people, and who asked (second_person).
            "two_people": two_people,
            "asked": asked,
        },
        status=status,
    )


@helpdesk_page
@require_GET
def user_events(request: HttpRequest, user_id: int) -> HttpResponse:
    """Every event of the person's, newest first, EVENTS_PAGE a page: each page leads to the
    events older than its last one (`before`, that event's id), so that a page shows the same
    events however many are recorded meanwhile, and costs the same however far back it is."""
    user = _user(Policy.load(), user_id)
    before = _event_id(request.GET.get("before", ""))
    events, more, older_page = _events_of(user_id, count=EVENTS_PAGE, before=before)
    return render(
        request,
        "helpdesk/user_events.html",
        {
            "person": user,
            "events": events,
            "older": events[-1].pk if more else None,
            # A page after the first: it links back to the newest events.
            "later": older_page,
        },
    )


def _event_id(text: str) -> int | None:
    """An event's id as a page's address gives it; None for anything else (the newest page)."""
    return int(text) if re.fullmatch(r"[0-9]{1,18}", text) else None


def _events_of(user_id: int, *, count: int, before: int | None = None) -> tuple[list, bool, bool]:
    """Up to `count` of the person's events, newest first (the order of the audit log), older
    than their event `before` where it is one of theirs; whether there are more; and whether
    these are older ones (`before` named one of theirs), not the newest."""
    events = Event.objects.filter(subject_id=user_id).select_related("actor")
    then = None
    if before is not None:
        then = (
            Event.objects.filter(pk=before, subject_id=user_id)
            .values_list("created_at", flat=True)
            .first()
        )
        if then is not None:
            events = events.filter(Q(created_at__lt=then) | Q(created_at=then, pk__lt=before))
    found = list(events[: count + 1])
    return _named(found[:count]), len(found) > count, then is not None


# Event details that name a colleague by their user id: shown by name.
PEOPLE_IN_DETAILS = ("requested_by", "approved_by")


def _named(events: list) -> list:
    """The events, with the colleagues their details name by id shown by name (one query for
    the page; the events are not saved)."""
    ids = {
        value
        for event in events
        if isinstance(event.details, dict)
        for key in PEOPLE_IN_DETAILS
        if isinstance(value := event.details.get(key), int)
    }
    if not ids:
        return events
    names = _usernames(ids)
    for event in events:
        for key in PEOPLE_IN_DETAILS:
            if isinstance(value := event.details.get(key), int):
                event.details[key] = names.get(value, str(value))
    return events


def _usernames(ids: set[int]) -> dict[int, str]:
    """The usernames of these people, by id, in one query."""
    User = get_user_model()
    return dict(User.objects.filter(pk__in=ids).values_list("pk", User.USERNAME_FIELD))


def _asked_by(asks: dict) -> dict:
    """Each live ask with the asking agent's name and its deadline, in one query."""
    if not asks:
        return {}
    names = _usernames({each.by for each in asks.values()})
    return {
        action: {
            "by": names.get(each.by, "?"),
            "by_id": each.by,
            "until": datetime.datetime.fromtimestamp(each.until, tz=datetime.UTC),
        }
        for action, each in asks.items()
    }


def _last_password_set_here():
    """When the person's password was last reset or changed through this site (Django's own
    accounts keep no date of their own), in the person's query."""
    return Subquery(
        Event.objects.filter(
            subject=OuterRef("pk"),
            kind__in=[
                EventKind.PASSWORD_RESET,
                EventKind.PASSWORD_CHANGED,
                EventKind.PASSWORD_SET_BY_ADMIN,
            ],
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )


CHANNEL_LABELS = {
    Channel.SMS: gettext_lazy("Authentication phone (text message)"),
    Channel.VOICE: gettext_lazy("Authentication phone (voice call)"),
    Channel.EMAIL: gettext_lazy("Authentication email"),
}


def _check_label(method, policy: Policy) -> str:
    if method.caller_check == "send":
        return CHANNEL_LABELS.get(method.channels(policy)[0], method.label)
    return _("%(method)s (the caller reads the code it shows)") % {"method": method.label}


def _verifiable(row: Row, policy: Policy) -> list[tuple[str, str]]:
    """The methods the caller can be checked with under the policy, by kind only: the helpdesk
    never sees an address."""
    return [
        (key, _check_label(method, policy))
        for key, method in REGISTRY.items()
        if method.caller_check and method.is_enabled(policy) and row.has(key)
    ]


CHECK_KEY = "sspr_helpdesk_check_{}"
VERIFIED_KEY = "sspr_helpdesk_verified_{}"

# How long a caller check counts, after it passed, for a temporary access pass, for turning
# self-service on again and for lifting a block on resets.
CHECK_VALID_SECONDS = 15 * 60


def _recent_check(request: HttpRequest, user_id: int) -> dict | None:
    """The caller check that passed in this session for this person in the last 15 minutes
    (verify_code), as the session keeps it, or None."""
    passed = request.session.get(VERIFIED_KEY.format(user_id))
    if not isinstance(passed, dict) or not isinstance(passed.get("at"), int):
        return None
    return passed if time.time() - passed["at"] < CHECK_VALID_SECONDS else None


def _passed(request: HttpRequest, user_id: int) -> str | None:
    """The kind of the method a caller check passed with, in this session, for this person,
    in the last 15 minutes and not spent on a pass, whatever has happened to that method
    since."""
    passed = _recent_check(request, user_id)
    if passed is None or passed.get("spent"):
        return None
    kind = passed.get("method")
    return kind if isinstance(kind, str) else None


def check_was_spent(request: HttpRequest, user_id: int) -> bool:
    """Whether this session's caller check for this person, still within its 15 minutes, was
    spent on a pass (mark_check_spent): the issue form then says so, not that none passed."""
    passed = _recent_check(request, user_id)
    return passed is not None and passed.get("spent") is True


def mark_check_spent(request: HttpRequest, user_id: int) -> None:
    """The session's caller check for this person was spent on a pass: it counts no more."""
    passed = request.session.get(VERIFIED_KEY.format(user_id))
    if isinstance(passed, dict):
        request.session[VERIFIED_KEY.format(user_id)] = {**passed, "spent": True}


def passed_check(request: HttpRequest, user_id: int, options: list) -> str | None:
    """The kind of the method a caller check passed with (_passed), while it still checks a
    caller: `options` are the methods a caller can be checked with now (_check_options). A
    check passed with one that has since begun to cool off, or that the person has since
    reported as not theirs (a pause), counts no more: it proves no more than a check made with
    it now would (docs/security.md rules 68 and 69)."""
    kind = _passed(request, user_id)
    return kind if kind in _kinds(options) else None


def _kinds(options: list) -> set[str]:
    """The kinds of the methods among `options` (_check_options: by registry key)."""
    return {str(REGISTRY[key].kind) for key, _label in options}


def _spent_key(request: HttpRequest, user_id: int) -> str | None:
    passed = request.session.get(VERIFIED_KEY.format(user_id))
    if not isinstance(passed, dict):
        return None
    # A check a session kept from before checks had their own names is named by its time.
    name = passed.get("id") if isinstance(passed.get("id"), str) else passed.get("at")
    return f"sspr:caller-check-spent:{request.user.pk}:{user_id}:{name}"


def spend_check(request: HttpRequest, user_id: int) -> bool:
    """Take this session's caller check for this person for one pass: False when a pass was
    asked for on it already. The session forgets a check once its pass is asked for, but two
    issue forms sent at the same moment (two tabs) both read it before either is saved; the
    shared cache lets one of them have it, on whichever host it lands (docs/security.md
    rule 49)."""
    key = _spent_key(request, user_id)
    return key is not None and cache.add(key, 1, timeout=CHECK_VALID_SECONDS)


def unspend_check(request: HttpRequest, user_id: int) -> None:
    """The pass asked for on this check was refused: the check may be used again."""
    if key := _spent_key(request, user_id):
        cache.delete(key)


def dropped_check(request: HttpRequest, user_id: int, checked: str | None) -> str | None:
    """The name of the method a caller check passed with that counts no more (`checked`: what
    passed_check found), so the form says why, not that no check passed."""
    passed = _passed(request, user_id)
    return method_label(passed) if passed is not None and checked is None else None


def still_checks(policy: Policy, user_id: int, kind: str) -> bool:
    """Whether a method of kind `kind` still checks this person's caller now (_check_options):
    what a pass requested on a caller check with it rests on, when it is approved and shown
    later."""
    _row, options, _cooling = _checkable(policy, user_id)
    return kind in _kinds(options)


def checked_person(request: HttpRequest, policy: Policy, user_id: int):
    """The person (404 beyond the helpdesk's sight), the kind of the method a caller check
    passed with for them while that method still checks a caller (passed_check), and the
    name of the method of one that counts no more (dropped_check)."""
    user = _user(policy, user_id, **cooling_annotations())
    options, _cooling = _check_options(user, Row.of(user, ResetRule.of(policy)), policy)
    checked = passed_check(request, user_id, options)
    return user, checked, dropped_check(request, user_id, checked)


def method_label(kind: str | None) -> str | None:
    if kind is None:
        return None
    try:
        return str(method_for_kind(kind).label)
    except StopIteration:
        return kind


@helpdesk_page
@require_http_methods(["GET", "POST"])
def verify_start(request: HttpRequest, user_id: int) -> HttpResponse:
    """Check a caller with one of their registered methods, chosen by kind: a code sent to it,
    or one the caller reads from their app."""
    policy = Policy.load()
    row, options, cooling = _checkable(policy, user_id)
    form = VerifyStartForm(request.POST if request.method == "POST" else None, options=options)
    page = {"row": row, "form": form, "cooling": cooling}
    if request.method == "POST" and form.is_valid():
        method = REGISTRY[form.cleaned_data["method"]]
        if method.caller_check == "ask":
            request.session[CHECK_KEY.format(user_id)] = method.key
            return redirect("helpdesk:verify_code", user_id=user_id)
        subject = get_user_model().objects.get(pk=user_id)
        destination = method.reset_destination(UserMethods.load(subject))
        with in_language_of(subject):  # the caller's language, not the agent's
            result = method_flows.code_send(
                request=request,
                user=subject,
                method=method,
                purpose=Purpose.HELPDESK,
                destination=destination,
                channel=method.channels(policy)[0],
                policy=policy,
            )
        if result.sent:
            request.session[CHECK_KEY.format(user_id)] = method.key
            return redirect("helpdesk:verify_code", user_id=user_id)
        cooldown = result.refusal is method_flows.SendRefusal.COOLDOWN
        seconds = (
            max(1, math.ceil((result.next_send_at - timezone.now()).total_seconds()))
            if cooldown and result.next_send_at
            else 30
        )
        if cooldown and _live_here(request, subject, method):
            # The code this session sent a moment ago is still live: the caller reads it back.
            request.session[CHECK_KEY.format(user_id)] = method.key
            messages.info(
                request,
                ngettext(
                    "A code was sent a moment ago: ask the caller to read it back. A new one "
                    "can be sent in %(seconds)d second.",
                    "A code was sent a moment ago: ask the caller to read it back. A new one "
                    "can be sent in %(seconds)d seconds.",
                    seconds,
                )
                % {"seconds": seconds},
            )
            return redirect("helpdesk:verify_code", user_id=user_id)
        if cooldown:
            # Sent from another session (another agent), or voided since: not one this page
            # can check.
            refused = ngettext(
                "A code was sent to this person a moment ago. A new one can be sent in "
                "%(seconds)d second.",
                "A code was sent to this person a moment ago. A new one can be sent in "
                "%(seconds)d seconds.",
                seconds,
            ) % {"seconds": seconds}
        elif result.refusal is method_flows.SendRefusal.RATE_LIMITED:
            refused = _(
                "Too many codes were sent to this person in the last hour. Try again later."
            )
        else:
            refused = _("The code could not be sent just now. Try again in a minute.")
        form.add_error(None, refused)
        return render(request, "helpdesk/verify_start.html", page, status=429)
    return render(request, "helpdesk/verify_start.html", page)


def _live_here(request: HttpRequest, subject, method) -> bool:
    """Whether the person's helpdesk code is live and was asked for in this session (a code
    verifies only in the session that asked for it)."""
    device = method_flows.last_code(user=subject, method=method, purpose=Purpose.HELPDESK)
    return (
        device is not None
        and device.has_live_code()
        and device.session_mark == VerificationCode.mark_of(method_flows.session_binding(request))
    )


def _caller_check(request: HttpRequest, method, subject, code: str) -> CheckOutcome:
    if method.caller_check == "ask":
        if method.caller_wait(user=subject):
            # During the wait after a wrong code, the code is not looked at: as for a sent one.
            return CheckOutcome.THROTTLED
        right = method.check_caller(request=request, user=subject, code=code)
        return CheckOutcome.VERIFIED if right else CheckOutcome.WRONG
    return method_flows.code_check(
        request=request, user=subject, method=method, purpose=Purpose.HELPDESK, code=code
    )


@sensitive_post_parameters("code")
@helpdesk_page
@require_http_methods(["GET", "POST"])
def verify_code(request: HttpRequest, user_id: int) -> HttpResponse:
    """The caller reads the code back; the helpdesk sees only verified or not verified."""
    policy = Policy.load()
    row, options, _cooling = _checkable(policy, user_id)
    method = REGISTRY.get(request.session.get(CHECK_KEY.format(user_id)) or "")
    if method is None or not method.caller_check:
        return redirect("helpdesk:verify_start", user_id=user_id)
    if method.key not in {key for key, _label in options}:
        # Chosen when the page was opened; since then it began to cool off, the person
        # reported it as not theirs, removed it, or the policy turned it off: it checks
        # nobody now (_check_options).
        request.session.pop(CHECK_KEY.format(user_id), None)
        messages.error(
            request,
            _("%(method)s can no longer be used to check this caller. Choose another method.")
            % {"method": method.label},
        )
        return redirect("helpdesk:verify_start", user_id=user_id)
    # What to ask the caller, and never to ask, is read before the field.
    form = CodeForm(request.POST if request.method == "POST" else None, focus=False)
    # The agent reads this, not the code's owner: each method says where the code comes from.
    form.fields["code"].help_text = method.caller_check_prompt
    outcome = None
    if request.method == "POST" and form.is_valid():
        subject = get_user_model().objects.get(pk=user_id)
        checked = _caller_check(request, method, subject, form.cleaned_data["code"])
        if checked is CheckOutcome.THROTTLED:
            # Too soon after a wrong code: this one was not looked at, so it is neither a
            # verified nor a failed check; the agent asks again when the page says.
            wait = method.caller_wait(user=subject) or method_flows.wait_message_for(
                user=subject, method=method, purpose=Purpose.HELPDESK
            )
            form.add_error("code", wait)
        else:
            outcome = checked is CheckOutcome.VERIFIED
            record(
                EventKind.HELPDESK_CHECK,
                request=request,
                subject=subject,
                method=str(method.kind),
                outcome="verified" if outcome else "not_verified",
            )
        if outcome:
            request.session.pop(CHECK_KEY.format(user_id), None)
            # What a temporary access pass may name as the caller check (accesspass.views).
            request.session[VERIFIED_KEY.format(user_id)] = {
                "method": str(method.kind),
                "at": int(time.time()),
                # Names this check in the shared cache, where a pass spends it (spend_check).
                "id": secrets.token_urlsafe(12),
            }
    return render(
        request,
        "helpdesk/verify_code.html",
        {"row": row, "form": form, "outcome": outcome, "method": method},
    )


@helpdesk_page
@require_POST
def resume_self_service(request: HttpRequest, user_id: int) -> HttpResponse:
    """Clear a pause set by the "That wasn't me" link, once the helpdesk has verified the
    person (CallerVerifiedForm) and put things right (methods/not_me.py). Audited with who
    cleared it and how they verified the person."""
    verified = _verified_for(request, user_id, "resume")
    if isinstance(verified, HttpResponse):
        return verified
    user, details = verified
    if waiting := _second_person(request, "resume", user, details):
        return waiting
    if not_me.clear(request=request, user=user, **details):
        messages.success(
            request,
            _("Self-service is on again for %(username)s.") % {"username": user.get_username()},
        )
    else:  # cleared meanwhile (another agent, another tab): nothing to do
        messages.info(
            request,
            _("Self-service was not paused for %(username)s; nothing was changed.")
            % {"username": user.get_username()},
        )
    return redirect("helpdesk:user", user_id=user_id)


@helpdesk_page
@require_POST
def lift_reset_block(request: HttpRequest, user_id: int) -> HttpResponse:
    """Lift the day's block after too many reset attempts for this name, once the helpdesk
    has verified the person (CallerVerifiedForm): whoever asks may be the one who started
    them. Audited with who lifted it and how they verified the person."""
    verified = _verified_for(request, user_id, "block")
    if isinstance(verified, HttpResponse):
        return verified
    user, details = verified
    if waiting := _second_person(request, "block", user, details):
        return waiting
    if reset_flows.lift_reset_block(request=request, user=user, **details):
        messages.success(
            request,
            _("%(username)s can start a password reset again.") % {"username": user.get_username()},
        )
    else:  # lifted meanwhile, or over: nothing to do
        messages.info(
            request,
            _("Password reset was not blocked for %(username)s; nothing was changed.")
            % {"username": user.get_username()},
        )
    return redirect("helpdesk:user", user_id=user_id)


def _episodes(paused_at, blocked_until) -> dict[str, float | None]:
    """The person's pause and block as they are, each by a timestamp (when the pause began,
    when the block ends), for second_person's asks; None where there is none."""
    return {"resume": paused_at.timestamp() if paused_at else None, "block": blocked_until}


def _second_person(request: HttpRequest, action: str, user, details: dict):
    """For an account one agent alone must not take over (second_person): None when this
    request may go on, as the second person (who may approve passes) after another agent
    asked for this very pause or block (who asked goes into `details`, for the audit event),
    or when there is nothing to lift (the view then says so); otherwise the ask is recorded,
    or left as it is, and the answer says what is still needed."""
    if not second_person.needs_second_person(user, helpdesk_permissions(user)):
        return None
    paused_at = (
        SelfServiceBlock.objects.filter(user=user).values_list("created_at", flat=True).first()
    )
    blocked_until = reset_flows.reset_blocked_until(user)
    episode = _episodes(paused_at, blocked_until)[action]
    if episode is None:
        return None
    agent = request.user
    asked = second_person.asks(user.pk, {action: episode}).get(action)
    if asked is not None and asked.by != agent.pk and request.helpdesk_may_approve:
        if second_person.take(action, user.pk):
            details.update(requested_by=asked.by)
            return None
        messages.info(request, _("A colleague acted on this just now. Look at the page again."))
    elif asked is not None:
        messages.info(
            request,
            _(
                "This was asked for already: a Helpdesk administrator other than the one who "
                "asked must verify the caller and press it too. Nothing was changed."
            ),
        )
    elif second_person.ask(action, user.pk, agent.pk, episode):
        record(
            EventKind.HELPDESK_SECOND_PERSON_ASKED,
            request=request,
            actor=agent,
            subject=user,
            # What it would do, as that event's kind names it.
            lift=(
                EventKind.SELF_SERVICE_CLEARED
                if action == "resume"
                else EventKind.RESET_BLOCK_LIFTED
            ).value,
            **details,
        )
        messages.info(
            request,
            _(
                "This account needs a second person: a Helpdesk administrator other than you "
                "must verify the caller and press it too, within 15 minutes. Nothing was "
                "changed yet."
            ),
        )
    else:
        messages.info(request, _("A colleague acted on this just now. Look at the page again."))
    return redirect("helpdesk:user", user_id=user.pk)


def _not_for_oneself(request: HttpRequest) -> HttpResponse:
    """Nobody verifies themselves: as for a temporary access pass (docs/security.md rule 49),
    a colleague turns an agent's self-service on again or lifts a block on their resets."""
    return render(request, "helpdesk/not_for_oneself.html", status=403)


def _verified_form(
    data, prefix: str, checked: str | None, dropped: str | None = None
) -> CallerVerifiedForm:
    # No note: nothing but the audit event would keep it (CallerVerifiedForm).
    return CallerVerifiedForm(
        data, prefix=prefix, check_label=checked, dropped_label=dropped, with_note=False
    )


def _verified_for(request: HttpRequest, user_id: int, prefix: str):
    """For an action the helpdesk takes for a person (the form `prefix`): the person and how
    they were verified, as its audit event says it (how, and with which method); or the answer
    that refuses it: their own account, or the form without a verification that holds."""
    user, checked, dropped = checked_person(request, Policy.load(), user_id)
    if user.pk == request.user.pk:
        return _not_for_oneself(request)
    form = _verified_form(request.POST, prefix, method_label(checked), dropped)
    if not form.is_valid():
        return _detail_page(request, user_id, status=400, **{prefix: form})
    details = {"verification": form.cleaned_data["verification"]}
    if details["verification"] == CALLER_CHECK:
        details["method"] = checked
    return user, details


@helpdesk_page
@require_GET
def activity_report(request: HttpRequest) -> HttpResponse:
    days = request.GET.get("days", "7")
    days = int(days) if days in ("1", "7", "30") else 7
    return render(request, "helpdesk/report.html", activity.build(days=days, policy=Policy.load()))
