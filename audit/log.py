"""Write audit events. Callers pass method kinds, outcomes and reasons: never secrets."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

from sspr_site.metrics import observe_event
from sspr_site.network import client_address
from sspr_site.rows import Insert

from . import stream
from .models import Event, EventKind

logger = logging.getLogger("sspr.audit")

# Keys whose values could carry a secret or a full contact detail. A caller passing one is a
# bug; refusing loudly in development beats writing it to an append-only table.
# Its INSERT built once (sspr_site/rows.py): an event is written at nearly every step.
_NEW_EVENT = Insert(Event)

FORBIDDEN_KEYS = frozenset({"code", "token", "answer", "answers", "password", "number", "email"})


def record(
    kind: EventKind,
    *,
    request: HttpRequest | None = None,
    ip: str | None = None,
    actor: Any = None,
    subject: Any = None,
    **details: Any,
) -> Event:
    """Append one event and mirror it to the log (ids, kinds and outcomes only)."""
    leaked = FORBIDDEN_KEYS.intersection(details)
    if leaked:
        raise ValueError(f"audit details must not contain {sorted(leaked)}")
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    event = _NEW_EVENT.create(
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        subject=subject if getattr(subject, "pk", None) else None,
        ip=ip or client_address(request),
        details=details,
    )
    logger.info(
        "%s actor=%s subject=%s %s",
        kind.value,
        getattr(actor, "pk", None),
        getattr(subject, "pk", None),
        " ".join(f"{key}={value}" for key, value in sorted(details.items())),
    )
    # The same event counted in /metrics and handed to the SIEM (README, "Metrics, logs and
    # the audit stream").
    observe_event(kind.value, details)
    stream.publish(event)
    return event


def written_in_bulk(
    kind: EventKind, count: int, event_ids: list[int] | None, *, actor_id=None, **details: Any
) -> None:
    """Events a statement appended without `record` (a sweep over many people, an import):
    mirrored to the log in one line, counted in /metrics, and each handed to the SIEM as
    `record` hands one (`event_ids`, read back by the statement where a sink is configured:
    audit.stream.configured_sinks)."""
    if not count:
        return
    logger.info(
        "%s actor=%s count=%d %s",
        kind.value,
        actor_id,
        count,
        " ".join(f"{key}={value}" for key, value in sorted(details.items())),
    )
    observe_event(kind.value, details, count)
    if event_ids:
        stream.publish_written(event_ids, kind.value)


def wants_event_ids() -> bool:
    """Whether a statement appending events must read back their ids (for the SIEM)."""
    return bool(stream.configured_sinks())
