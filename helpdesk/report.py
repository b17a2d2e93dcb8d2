"""The activity report: counts over the last days and charts drawn on the server as SVG."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit.models import Event, EventKind
from policy.models import Policy
from registration.models import Registration
from registration.queries import RegistrationState, with_state

BAR_WIDTH = 18
CHART_HEIGHT = 120


def _counts(events, field: str) -> list[tuple[str, int]]:
    rows = events.values(field).annotate(n=Count("pk")).order_by("-n", field)
    return [(row[field] or "—", row["n"]) for row in rows]


def _per_day(events, since: date, days: int) -> list[tuple[date, int]]:
    by_day = dict(
        events.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return [
        (since + timedelta(days=i), by_day.get(since + timedelta(days=i), 0)) for i in range(days)
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
    recent = Event.objects.filter(created_at__gte=start)
    kinds = dict(recent.values("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    registrations = recent.filter(kind=EventKind.REGISTRATION_COMPLETED)
    resets = recent.filter(kind__in=[EventKind.PASSWORD_RESET, EventKind.ACCOUNT_UNLOCKED])
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
    registrations_daily = _per_day(registrations, since, days)
    resets_daily = _per_day(resets, since, days)
    trend = _registered_by_day(users, since, days)
    return {
        "days": days,
        "totals": [
            (
                EventKind.REGISTRATION_COMPLETED.label,
                kinds.get(EventKind.REGISTRATION_COMPLETED, 0),
            ),
            (
                EventKind.REGISTRATION_CONFIRMED.label,
                kinds.get(EventKind.REGISTRATION_CONFIRMED, 0),
            ),
            (EventKind.RESET_STARTED.label, kinds.get(EventKind.RESET_STARTED, 0)),
            (EventKind.PASSWORD_RESET.label, kinds.get(EventKind.PASSWORD_RESET, 0)),
            (EventKind.ACCOUNT_UNLOCKED.label, kinds.get(EventKind.ACCOUNT_UNLOCKED, 0)),
            (EventKind.RESET_REFUSED.label, kinds.get(EventKind.RESET_REFUSED, 0)),
        ],
        "verified_by_method": _counts(
            recent.filter(kind__in=[EventKind.METHOD_VERIFIED, EventKind.METHOD_CHANGED]),
            "details__method",
        ),
        "reset_passed_by_method": _counts(
            recent.filter(kind=EventKind.RESET_METHOD_PASSED), "details__method"
        ),
        "reset_failures_by_reason": _counts(
            recent.filter(kind=EventKind.RESET_METHOD_FAILED), "details__reason"
        ),
        "code_failures_by_reason": _counts(
            recent.filter(kind=EventKind.CODE_FAILED), "details__reason"
        ),
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
