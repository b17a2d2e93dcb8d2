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
from registration.models import Registration
from registration.queries import RegistrationState, with_state

BAR_WIDTH = 18
CHART_HEIGHT = 120


class EventCounts:
    """The period's audit events counted once, in one query, by kind, day, method and reason;
    every total, chart and table of the report is read from these few grouped rows."""

    def __init__(self, events):
        self.rows = list(
            events.annotate(
                day=TruncDate("created_at"),
                method=KT("details__method"),
                reason=KT("details__reason"),
            )
            .values("kind", "day", "method", "reason")
            .annotate(n=Count("pk"))
            .order_by()
        )

    def total(self, kind: str) -> int:
        return sum(row["n"] for row in self.rows if row["kind"] == kind)

    def by(self, field: str, kinds: set[str]) -> list[tuple[str, int]]:
        counted: Counter = Counter()
        for row in self.rows:
            if row["kind"] in kinds:
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


MAX_LABELS = 10  # tick labels on one axis; more would overlap on a phone


def bar_chart(series: list[tuple[str, int]], bar_width: int = BAR_WIDTH, gap: int = 8) -> dict:
    """Geometry for an SVG bar chart drawn to scale in its own coordinates (viewBox), so it
    shrinks with the page. Each bar carries its number; tick labels thin out on long series;
    `empty` says there is nothing to draw (the page then says so in words)."""
    top = max([value for _label, value in series] + [1])
    step = max(1, -(-len(series) // MAX_LABELS))  # ceiling division
    bars = []
    for index, (label, value) in enumerate(series):
        height = round(CHART_HEIGHT * value / top)
        x = 40 + index * (bar_width + gap)
        bars.append(
            {
                "x": x,
                "y": 20 + CHART_HEIGHT - height,
                "height": height,
                "label": label,
                "show_label": index % step == 0 or index == len(series) - 1,
                "value": value,
                "text_x": x + bar_width / 2,
            }
        )
    return {
        "bars": bars,
        "width": 40 + len(series) * (bar_width + gap) + 20,
        "height": CHART_HEIGHT + 60,
        "baseline": 20 + CHART_HEIGHT,
        "bar_width": bar_width,
        "empty": not any(value for _label, value in series),
    }


def _registered_by_day(users, since: date, days: int) -> list[tuple[date, int]]:
    """How many of `users` were registered at the end of each day: the trend."""
    completed = Registration.objects.filter(user__in=users.values("pk"), completed_at__isnull=False)
    before = completed.filter(completed_at__date__lt=since).count()
    added = dict(
        completed.filter(completed_at__date__gte=since)
        .annotate(day=TruncDate("completed_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    trend, total = [], before
    for offset in range(days):
        day = since + timedelta(days=offset)
        total += added.get(day, 0)
        trend.append((day, total))
    return trend


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
    trend = _registered_by_day(users, since, days)
    return {
        "days": days,
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
        "reset_passed_by_method": counts.by("method", {EventKind.RESET_METHOD_PASSED}),
        "reset_failures_by_reason": counts.by("reason", {EventKind.RESET_METHOD_FAILED}),
        "code_failures_by_reason": counts.by("reason", {EventKind.CODE_FAILED}),
        "registrations_chart": bar_chart([(d.strftime("%d"), n) for d, n in registrations_daily]),
        "resets_chart": bar_chart([(d.strftime("%d"), n) for d, n in resets_daily]),
        "registrations_daily": registrations_daily,
        "resets_daily": resets_daily,
        "registered": registered,
        "not_registered": not_registered,
        # Two wide bars, so that their labels ("Registered", "Not registered") fit under them.
        "registered_chart": bar_chart(
            [("R", registered), ("N", not_registered)], bar_width=110, gap=40
        ),
        "in_scope": registered + not_registered,
        "trend": trend,
        "trend_chart": bar_chart([(day.strftime("%d"), n) for day, n in trend]),
    }
