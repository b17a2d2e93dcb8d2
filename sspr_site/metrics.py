"""`/metrics` in Prometheus' text format (README, "Metrics, logs and the audit stream").

Requests by view and status with their latency; resets started, completed and refused by reason;
unlocks; registrations completed; codes sent, delivered and failed by channel; the queue's depth
and its oldest job's age; the admin home's counts; the synthetic reset's last result.

Counts come from the audit log's `record` (audit.log), so what the metrics count is what the
audit log holds; delivery outcomes from the job runner (delivery.outbox). With several gunicorn
workers (and the message worker on the same host) set PROMETHEUS_MULTIPROC_DIR to a directory
of that host's own, emptied before the processes start: every process writes its counts there
and a scrape adds them up (prometheus_client's multiprocess mode).

The page answers only clients inside SSPR_METRICS_NETWORKS (the address as resolved through
the trusted proxies, sspr_site.network) or with `Authorization: Bearer <SSPR_METRICS_TOKEN>`;
anyone else gets 403. Labels are view names, statuses, channels and reasons: never a path, a
name or an address (docs/security.md, "Logs").
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import time
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .conf import app_settings
from .network import client_address

logger = logging.getLogger("sspr.metrics")

REQUESTS = Counter(
    "sspr_http_requests", "Requests answered, by view and status.", ["view", "method", "status"]
)
LATENCY = Histogram(
    "sspr_http_request_duration_seconds",
    "Time from a request's arrival to its answer, by view.",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RESETS_STARTED = Counter("sspr_resets_started", "Password resets and unlocks started.")
RESETS_COMPLETED = Counter("sspr_resets_completed", "Passwords reset through the portal.")
RESETS_REFUSED = Counter("sspr_resets_refused", "Resets refused, by reason.", ["reason"])
UNLOCKS = Counter("sspr_unlocks", "Accounts unlocked through the portal.")
REGISTRATIONS = Counter("sspr_registrations_completed", "Registrations completed (Finish).")
CODES = Counter(
    "sspr_codes", "Codes sent (queued), delivered and failed, by channel.", ["channel", "outcome"]
)
AUDIT_EVENTS = Counter("sspr_audit_events", "Audit events written, by kind.", ["kind"])
DIRECTORY = Histogram(
    "sspr_directory_operation_duration_seconds",
    "Directory operations (the service account's), by operation and outcome: ok, unavailable "
    "or refused.",
    ["operation", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# A label value is a short identifier or it is not used: nothing a person typed gets through.
_LABEL = re.compile(r"^[a-z0-9_.:-]{1,60}$")


def _label(value: object, default: str = "other") -> str:
    text = str(value or "").lower()
    return text if _LABEL.match(text) else default


def observe_event(kind: str, details: dict, count: int = 1) -> None:
    """Count an audit event, or `count` alike written at once (called by audit.log)."""
    AUDIT_EVENTS.labels(_label(kind)).inc(count)
    if kind == "reset_started":
        RESETS_STARTED.inc(count)
    elif kind == "password_reset":
        RESETS_COMPLETED.inc(count)
    elif kind == "account_unlocked":
        UNLOCKS.inc(count)
    elif kind == "reset_refused":
        RESETS_REFUSED.labels(_label(details.get("reason"), "unspecified")).inc(count)
    elif kind == "registration_completed":
        REGISTRATIONS.inc(count)
    elif kind == "code_sent":
        CODES.labels(_label(details.get("channel")), "sent").inc(count)


def observe_directory(operation: str, outcome: str, seconds: float) -> None:
    """One directory operation's time and outcome (directory.ldap_accounts)."""
    DIRECTORY.labels(_label(operation), _label(outcome)).observe(seconds)


def observe_delivery(function: str, kwargs: dict, *, failed: bool) -> None:
    """Count one code's message that left or was given up (called by delivery.outbox.run)."""
    sends = ("delivery.jobs.deliver", "delivery.jobs.deliver_first")
    message = kwargs.get("message") if function in sends else None
    if not isinstance(message, dict) or message.get("purpose") != "code":
        return
    CODES.labels(_label(message.get("channel")), "failed" if failed else "delivered").inc()


class StateCollector(Collector):
    """What is read at scrape time: the queue, the admin home's counts, the synthetic reset."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._queue()
        yield from self._admin_counts()
        yield from self._probe()

    def _queue(self):
        from delivery.checks import _oldest_enqueued_at
        from delivery.outbox import uses_queue

        if not uses_queue():
            return
        try:
            from delivery.models import HeldMessage

            held = HeldMessage.objects.count()
        except Exception as error:  # the database is away: /readyz says so
            logger.warning("held messages not counted: %s", type(error).__name__)
        else:
            yield GaugeMetricFamily(
                "sspr_messages_held",
                "Notices written while the queue was away, waiting for a worker to queue them.",
                value=held,
            )
        depth = GaugeMetricFamily("sspr_queue_depth", "Messages waiting in the queue.")
        age = GaugeMetricFamily(
            "sspr_queue_oldest_age_seconds", "How long the oldest waiting message has waited."
        )
        try:
            from delivery.connection import queue as message_queue

            queue = message_queue()
            depth.add_metric([], queue.count)
            oldest = _oldest_enqueued_at(queue)
        except Exception as error:  # the queue's Redis is away: /readyz says so
            logger.warning("queue not measured: %s", type(error).__name__)
            return
        age.add_metric([], 0 if oldest is None else max(0.0, time.time() - oldest.timestamp()))
        yield depth
        yield age

    def _admin_counts(self):
        try:
            from registration.templatetags.sspr_admin import registration_summary

            summary = registration_summary()
        except Exception as error:  # the database is away: /readyz says so
            logger.warning("admin counts not measured: %s", type(error).__name__)
            return
        people = GaugeMetricFamily(
            "sspr_people", "The admin home's counts (kept for a minute).", labels=["state"]
        )
        for state in ("in_scope", "registered", "can_reset"):
            people.add_metric([state], summary.get(state, 0))
        yield people

    def _probe(self):
        from .probe import last_result

        result = last_result()
        if result is None:
            return
        yield GaugeMetricFamily(
            "sspr_probe_reset_success",
            "1 when the last synthetic reset (manage.py probe_reset) succeeded, else 0.",
            value=1 if result["success"] else 0,
        )
        yield GaugeMetricFamily(
            "sspr_probe_reset_duration_seconds",
            "How long the last synthetic reset took.",
            value=result["duration"],
        )
        yield GaugeMetricFamily(
            "sspr_probe_reset_timestamp_seconds",
            "When the last synthetic reset ran (Unix time).",
            value=result["at"],
        )


def render() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
        registry.register(StateCollector())
        return generate_latest(registry)
    registry.register(StateCollector())
    return generate_latest(REGISTRY) + generate_latest(registry)


def allowed(request: HttpRequest) -> bool:
    token = app_settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), token.encode())
    address = client_address(request)
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
        networks = app_settings.METRICS_NETWORKS
        return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)
    except ValueError:
        return False


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unresolved"
    return _label(match.view_name or match.url_name, "unnamed")


class MetricsMiddleware:
    """Answer /metrics; time and count every other request by view and status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/metrics":
            if not allowed(request):
                return HttpResponse(status=403)
            response = HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
            response["Cache-Control"] = "no-store"
            return response
        started = time.perf_counter()
        response = self.get_response(request)
        view = _view_name(request)
        REQUESTS.labels(view, _label(request.method, "other"), str(response.status_code)).inc()
        LATENCY.labels(view).observe(time.perf_counter() - started)
        return response
