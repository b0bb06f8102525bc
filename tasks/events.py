"""Event names and emit helpers (Prefect custom events, resource `crisis.incident.<KEY>`)."""

from __future__ import annotations

from typing import Any

from prefect.events import Event, emit_event

INCIDENT_OPENED = "crisis.incident.opened"
INCIDENT_ESCALATED = "crisis.incident.escalated"
INCIDENT_ACKNOWLEDGED = "crisis.incident.acknowledged"
COMPENSATION_COMPLETED = "crisis.compensation.completed"
INCIDENT_RECOVERED = "crisis.incident.recovered"
INCIDENT_RESOLVED = "crisis.incident.resolved"

ALL_EVENTS = (
    INCIDENT_OPENED,
    INCIDENT_ESCALATED,
    INCIDENT_ACKNOWLEDGED,
    COMPENSATION_COMPLETED,
    INCIDENT_RECOVERED,
    INCIDENT_RESOLVED,
)


def incident_resource(key: str, brand: str = "", level: str = "") -> dict[str, str]:
    """Return the event resource of an incident; `crisis.incident.key` feeds trigger parameters."""
    resource = {"prefect.resource.id": f"crisis.incident.{key}", "crisis.incident.key": key}
    if brand:
        resource["crisis.incident.brand"] = brand
    if level:
        resource["crisis.incident.level"] = level
    return resource


def emit_incident_event(
    name: str,
    key: str,
    *,
    brand: str = "",
    level: str = "",
    payload: dict[str, Any] | None = None,
    follows: Event | None = None,
) -> Event | None:
    """Emit one incident event; returns the Event (None when events are disabled)."""
    if name not in ALL_EVENTS:
        raise ValueError(f"unknown event {name!r}")
    return emit_event(
        event=name,
        resource=incident_resource(key, brand, level),
        payload=payload or {},
        follows=follows,
    )
