"""The activity report: counts over the last days and charts drawn on the server as SVG."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit.models import Event, EventKind
from policy.models import Policy
from registration.queries import RegistrationState, with_state


class EventCounts:
    """The period's audit events counted once, in one query, by kind, day, method and reason;
    every total, chart and table of the report is read from these few grouped rows."""

    def __init__(self, events):
        self.rows = list(
            events.annotate(
                day=TruncDate("created_at"),
                method=KT("details__method"),
                reason=KT("details__reason"),
                purpose=KT("details__purpose"),
            )
            .values("kind", "day", "method", "reason", "purpose")
            .annotate(n=Count("pk"))
            .order_by()
        )

    def total(self, kind: str) -> int:
        return sum(row["n"] for row in self.rows if row["kind"] == kind)

    def by(self, field: str, kinds: set[str], *, resets_only=False) -> list[tuple[str, int]]:
        """`resets_only`: without the portal's steps taken as a proof before a change of
        methods (their events say purpose "proof"), which are not resets."""
        counted: Counter = Counter()
        for row in self.rows:
            if row["kind"] in kinds and not (resets_only and row["purpose"] == "proof"):
                counted[row[field] or ""] += row["n"]
        ordered = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
        return [(value or "—", n) for value, n in ordered]

    def per_day(self, kinds: set[str], since: date, days: int) -> list[tuple[date, int]]:
        counted: Counter = Counter()
        for row in self.rows:
            if row["kind"] in kinds:
                counted[row["day"]] += row["n"]
        return [
            (since + timedelta(days=i), counted[since + timedelta(days=i)]) for i in range(days)
        ]


# The charts are drawn on the server as SVG: bars placed in percentages of the page's width
# (so a chart fills its column at any width, with text at its own size) and in pixels of a
# fixed height; the tick labels of the count axis are HTML beside it (helpdesk/chart.html),
# spaced by static/css/helpdesk.css to the same two numbers.
PLOT_TOP = 16  # room above the tallest bar for its number
PLOT_HEIGHT = 160
AXIS_ROOM = 26  # room under the baseline for the day labels
AXIS_ROOM_WEEK = 40  # a week's labels take two lines: the weekday, then the date
MAX_BAR = 8.0  # percent of the width: one bar for one day is not a slab
DAY_TICKS = 7  # a series longer than this is labelled once a week, counted back from today


def nice_ticks(top: int) -> list[int]:
    """Round numbers from 0 up to at least `top`, in at most four equal steps (1, 2 or 5 times
    a power of ten, never below 1): the count axis."""
    top = max(top, 1)
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            step = multiple * magnitude
            if -(-top // step) <= 4:  # ceiling division
                return [step * index for index in range(-(-top // step) + 1)]
        magnitude *= 10


def _percent(value: float) -> str:
    # A string, so that no locale turns the decimal point into a comma inside SVG.
    return f"{value:.3f}%"


def bar_chart(series: list[tuple[date, int]]) -> dict:
    """Geometry for a bar chart of one number per day, to scale against a round axis. Every
    day of a week-long series is labelled; a longer one once a week, ending today; each bar
    carries its number (`dense` marks the numbers a phone leaves out: the table says them).
    `empty` says there is nothing to draw (the page then says so in words)."""
    ticks = nice_ticks(max([value for _day, value in series] + [0]))
    count = max(len(series), 1)
    slot = 100 / count
    width = min(slot * 0.7, MAX_BAR)
    bars = []
    for index, (day, value) in enumerate(series):
        height = round(PLOT_HEIGHT * value / ticks[-1])
        left = slot * index + (slot - width) / 2
        centre = left + width / 2
        labelled = count <= DAY_TICKS or (count - 1 - index) % DAY_TICKS == 0
        # A label near either edge is aligned to its bar's edge, so that it is not cut off.
        anchor, at = "middle", centre
        if count > DAY_TICKS and centre < 8:
            anchor, at = "start", left
        elif count > DAY_TICKS and centre > 92:
            anchor, at = "end", left + width
        bars.append(
            {
                "day": day,
                "value": value,
                "x": _percent(left),
                "width": _percent(width),
                "y": PLOT_TOP + PLOT_HEIGHT - height,
                "height": height,
                "centre": _percent(centre),
                "labelled": labelled,
                "label_x": _percent(at),
                "anchor": anchor,
            }
        )
    return {
        "bars": bars,
        "ticks": list(reversed(ticks)),
        "lines": [PLOT_TOP + PLOT_HEIGHT - round(PLOT_HEIGHT * tick / ticks[-1]) for tick in ticks],
        "height": PLOT_TOP + PLOT_HEIGHT + (AXIS_ROOM if count > DAY_TICKS else AXIS_ROOM_WEEK),
        "baseline": PLOT_TOP + PLOT_HEIGHT,
        "long": count > DAY_TICKS,
        "empty": not any(value for _day, value in series),
    }


def share(registered: int, not_registered: int) -> dict:
    """The registered and the not registered as parts of everyone in scope: one bar."""
    total = registered + not_registered
    part = 100 * registered / total if total else 0
    return {
        "registered_width": _percent(part),
        "not_registered_x": _percent(part),
        "not_registered_width": _percent(100 - part),
        "registered_percent": round(part),
        "not_registered_percent": 100 - round(part) if total else 0,
        "empty": not total,
    }


def _registered_by_day(
    users, registered_now: int, start, since: date, days: int
) -> list[tuple[date, int]]:
    """How many of `users` were registered at the end of each day: the trend. Worked back
    from how many are now, by the registrations completed and lapsed each day since (their
    events, one query), so that a registration that lapsed today still counts on the days it
    stood, and one completed again counts from its first day."""
    changes = Counter()
    for day, kind, n in (
        Event.objects.filter(
            created_at__gte=start,
            kind__in=(EventKind.REGISTRATION_COMPLETED, EventKind.REGISTRATION_LAPSED),
            subject__in=users.values("pk"),
        )
        .annotate(day=TruncDate("created_at"))
        .values_list("day", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        changes[day] += n if kind == EventKind.REGISTRATION_COMPLETED else -n
    trend, total = [], registered_now
    for offset in reversed(range(days)):
        day = since + timedelta(days=offset)
        trend.append((day, max(total, 0)))
        total -= changes[day]
    return list(reversed(trend))


def build(*, days: int, policy: Policy) -> dict:
    now = timezone.now()
    start = now - timedelta(days=days)
    since = timezone.localdate(now) - timedelta(days=days - 1)
    counts = EventCounts(Event.objects.filter(created_at__gte=start))
    users = policy.scoped_users(get_user_model().objects.all())
    states = dict(
        with_state(users, policy)
        .values("sspr_state")
        .annotate(n=Count("pk"))
        .values_list("sspr_state", "n")
    )
    registered = states.get(RegistrationState.REGISTERED, 0) + states.get(
        RegistrationState.RECONFIRMATION_DUE, 0
    )
    not_registered = states.get(RegistrationState.NOT_REGISTERED, 0)
    registrations_daily = counts.per_day({EventKind.REGISTRATION_COMPLETED}, since, days)
    resets_daily = counts.per_day(
        {EventKind.PASSWORD_RESET, EventKind.ACCOUNT_UNLOCKED}, since, days
    )
    trend = _registered_by_day(users, registered, start, since, days)
    return {
        "days": days,
        "since": since,
        "until": timezone.localdate(now),
        "totals": [
            (
                EventKind.REGISTRATION_COMPLETED.label,
                counts.total(EventKind.REGISTRATION_COMPLETED),
            ),
            (
                EventKind.REGISTRATION_CONFIRMED.label,
                counts.total(EventKind.REGISTRATION_CONFIRMED),
            ),
            (EventKind.RESET_STARTED.label, counts.total(EventKind.RESET_STARTED)),
            (EventKind.PASSWORD_RESET.label, counts.total(EventKind.PASSWORD_RESET)),
            (EventKind.ACCOUNT_UNLOCKED.label, counts.total(EventKind.ACCOUNT_UNLOCKED)),
            (EventKind.RESET_REFUSED.label, counts.total(EventKind.RESET_REFUSED)),
        ],
        "verified_by_method": counts.by(
            "method", {EventKind.METHOD_VERIFIED, EventKind.METHOD_CHANGED}
        ),
        "reset_passed_by_method": counts.by(
            "method", {EventKind.RESET_METHOD_PASSED}, resets_only=True
        ),
        "reset_failures_by_reason": counts.by(
            "reason", {EventKind.RESET_METHOD_FAILED}, resets_only=True
        ),
        "code_failures_by_reason": counts.by("reason", {EventKind.CODE_FAILED}),
        "registrations_chart": bar_chart(registrations_daily),
        "resets_chart": bar_chart(resets_daily),
        "registrations_daily": registrations_daily,
        "resets_daily": resets_daily,
        "registered": registered,
        "not_registered": not_registered,
        "registered_share": share(registered, not_registered),
        "in_scope": registered + not_registered,
        "trend": trend,
        "trend_chart": bar_chart(trend),
    }
