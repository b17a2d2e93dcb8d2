"""The audit stream: every audit event also goes to the organisation's SIEM (README, "Metrics,
logs and the audit stream").

Two sinks, each on when configured:

- syslog, RFC 5424, over UDP or TCP (octet-counted frames, RFC 6587): SSPR_AUDIT_SYSLOG =
  `udp://host:514` or `tcp://host:601`;
- a webhook: SSPR_AUDIT_WEBHOOK_URL receives the event as JSON, signed with HMAC-SHA256 over
  `<timestamp>.<body>` with SSPR_AUDIT_WEBHOOK_SECRET (headers X-SSPR-Timestamp and
  X-SSPR-Signature: `v1=<hex>`), so the receiver can refuse forged and replayed events.

An event is handed over once its transaction has committed, as a job of the message queue
(delivery.outbox.later): a SIEM that is slow or away never holds a request, and a failed try is
retried with the queue's backoff (SSPR_DELIVERY_RETRY_INTERVALS). After the last try, or when the
queue itself cannot be reached, the event becomes a dead letter (audit.models.StreamDeadLetter),
listed in the admin, where it can be sent again. The stream carries what the audit table holds:
ids, kinds, outcomes and the request's address, never a secret (audit.log.FORBIDDEN_KEYS).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import time
import urllib.request
from datetime import UTC
from urllib.parse import urlsplit

from django.db import transaction

from .conf import app_settings

logger = logging.getLogger("sspr.audit.stream")

SINKS = ("syslog", "webhook")
# RFC 5424's example enterprise number: the structured data is this site's own.
SD_ID = "sspr@32473"
SEVERITY_NOTICE = 5
SEVERITY_WARNING = 4
WARNING_KINDS = {
    "sign_in_failed",
    "code_failed",
    "code_send_refused",
    "reset_refused",
    "reset_method_failed",
    "delivery_failed",
    "password_refused",
    "directory_refused",
}


def configured_sinks() -> list[str]:
    sinks = []
    if app_settings.AUDIT_SYSLOG:
        sinks.append("syslog")
    if app_settings.AUDIT_WEBHOOK_URL:
        sinks.append("webhook")
    return sinks


def publish(event) -> None:
    """Hand `event` to each configured sink once its transaction commits (audit.log.record)."""
    for sink in configured_sinks():
        transaction.on_commit(lambda sink=sink: _queue(event.pk, event.kind, sink))


# Events of a bulk write a job hands to the queue, one delivery job each: a sweep of many
# people commits with a job per FAN_OUT events, not one per event.
FAN_OUT = 500


def publish_written(event_ids: list[int], kind: str) -> None:
    """Hand events written in bulk by one statement to each sink, as publish does one."""
    for sink in configured_sinks():
        for start in range(0, len(event_ids), FAN_OUT):
            chunk = event_ids[start : start + FAN_OUT]
            transaction.on_commit(lambda sink=sink, chunk=chunk: _queue_each(chunk, kind, sink))


def _queue_each(event_ids: list[int], kind: str, sink: str) -> None:
    job = {"event_ids": event_ids, "kind": kind, "sink": sink}
    _hand_over("audit.stream.queue_each", job, event_ids, kind, sink)


def queue_each(*, event_ids: list[int], kind: str, sink: str) -> None:
    """A job: each event of a bulk write handed to the queue, as publish hands one."""
    for event_id in event_ids:
        _queue(event_id, kind, sink)


def _queue(event_id: int, kind: str, sink: str) -> None:
    _hand_over("audit.stream.deliver", {"event_id": event_id, "sink": sink}, [event_id], kind, sink)


def _hand_over(job: str, arguments: dict, event_ids: list[int], kind: str, sink: str) -> None:
    """Queue `job` with its `arguments`; with the queue away, each of `event_ids` is kept as a
    dead letter, not lost."""
    from delivery import outbox

    try:
        outbox.later(job, **arguments)
    except Exception as error:
        problem = f"not queued: {type(error).__name__}"
        logger.warning("audit stream: events %s %s", event_ids, problem)
        for event_id in event_ids:
            _dead_letter(event_id, kind, sink, 1, problem)


def payload(event) -> dict:
    return {
        "id": event.pk,
        "time": event.created_at.astimezone(UTC).isoformat(timespec="milliseconds"),
        "kind": event.kind,
        "actor": event.actor_id,
        "subject": event.subject_id,
        "ip": event.ip,
        "details": event.details,
    }


def deliver(*, event_id: int, sink: str) -> None:
    """The queue's job: send one event to one sink. A failure raises (the queue tries again)
    until the last try, which leaves a dead letter instead."""
    from .models import Event

    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return  # purged meanwhile
    try:
        if sink == "syslog":
            send_syslog(event)
        elif sink == "webhook":
            send_webhook(event)
    except Exception as error:
        attempts, last = _attempt()
        logger.warning(
            "audit stream: %s event %s failed (try %s): %s",
            sink,
            event_id,
            attempts,
            type(error).__name__,
        )
        if last:
            _dead_letter(event_id, event.kind, sink, attempts, type(error).__name__)
            return
        raise


def _attempt() -> tuple[int, bool]:
    """This try's number and whether it is the last (outside the queue: the only one)."""
    from rq import get_current_job

    job = get_current_job()
    if job is None:
        return 1, True
    total = len(app_settings.DELIVERY_RETRY_INTERVALS) + 1
    left = job.retries_left or 0
    return total - left, left <= 0


def _dead_letter(event_id: int, kind: str, sink: str, attempts: int, problem: str) -> None:
    from .models import StreamDeadLetter

    StreamDeadLetter.objects.create(
        event_id=event_id, kind=kind, sink=sink, attempts=attempts, problem=problem[:200]
    )


def retry(letter) -> None:
    """Queue a dead letter's event again (the admin's action) and remove the letter."""
    from delivery import outbox

    outbox.later("audit.stream.deliver", event_id=letter.event_id, sink=letter.sink)
    letter.delete()


# --- syslog --------------------------------------------------------------------------------------


def _sd_value(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_message(event) -> bytes:
    """One RFC 5424 message: header, the event's ids as structured data, the event as JSON."""
    facility = int(app_settings.AUDIT_SYSLOG_FACILITY)  # authpriv
    severity = SEVERITY_WARNING if event.kind in WARNING_KINDS else SEVERITY_NOTICE
    timestamp = event.created_at.astimezone(UTC).isoformat(timespec="milliseconds")
    timestamp = timestamp.replace("+00:00", "Z")
    host = (socket.gethostname() or "-")[:255].replace(" ", "-")
    params = {"id": event.pk, "kind": event.kind, "actor": event.actor_id or "-"}
    params.update(subject=event.subject_id or "-", ip=event.ip or "-")
    sd = " ".join(f'{key}="{_sd_value(value)}"' for key, value in params.items())
    body = json.dumps(payload(event), separators=(",", ":"), ensure_ascii=False)
    header = f"<{facility * 8 + severity}>1 {timestamp} {host} sspr {os.getpid()} "
    return f"{header}{event.kind[:32]} [{SD_ID} {sd}] {body}".encode()


def send_syslog(event) -> None:
    target = urlsplit(app_settings.AUDIT_SYSLOG)
    address = (target.hostname, target.port or 514)
    message = syslog_message(event)
    timeout = float(app_settings.AUDIT_STREAM_TIMEOUT)
    if target.scheme == "udp":
        with socket.socket(_family(target.hostname), socket.SOCK_DGRAM) as sock:
            sock.sendto(message, address)
        return
    if target.scheme != "tcp":
        raise ValueError("SSPR_AUDIT_SYSLOG must start with udp:// or tcp://")
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(str(len(message)).encode() + b" " + message)


def _family(host: str | None) -> int:
    return socket.AF_INET6 if host and ":" in host else socket.AF_INET


# --- webhook -------------------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


def send_webhook(event) -> None:
    body = json.dumps(payload(event), separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 (an https:// or http:// URL from settings)
        app_settings.AUDIT_WEBHOOK_URL,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "sspr-audit-stream",
            "X-SSPR-Timestamp": timestamp,
            "X-SSPR-Signature": signature(app_settings.AUDIT_WEBHOOK_SECRET, timestamp, body),
        },
    )
    timeout = float(app_settings.AUDIT_STREAM_TIMEOUT)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise ConnectionError(f"webhook answered {response.status}")
