"""Incident states, the transitions the plan allows, and the order of lifecycle timestamps.

Pure: no Prefect, SQLAlchemy or network.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class IncidentState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESPONDING = "responding"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"


ALLOWED: dict[IncidentState, frozenset[IncidentState]] = {
    IncidentState.OPEN: frozenset({IncidentState.ACKNOWLEDGED}),
    IncidentState.ACKNOWLEDGED: frozenset({IncidentState.RESPONDING, IncidentState.MONITORING}),
    IncidentState.RESPONDING: frozenset({IncidentState.MONITORING}),
    IncidentState.MONITORING: frozenset({IncidentState.RESPONDING, IncidentState.RESOLVED}),
    IncidentState.RESOLVED: frozenset({IncidentState.CLOSED, IncidentState.RESPONDING}),
    IncidentState.CLOSED: frozenset(),
}

# The timestamp a state stamps when first entered.
STAMPS: dict[IncidentState, str] = {
    IncidentState.ACKNOWLEDGED: "acknowledged_at",
    IncidentState.MONITORING: "mitigated_at",
    IncidentState.RESOLVED: "resolved_at",
    IncidentState.CLOSED: "closed_at",
}

TIMESTAMP_ORDER = (
    "started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
)

ACTIVE_STATES = frozenset(
    {IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.RESPONDING, IncidentState.MONITORING}
)


def can_transition(current: IncidentState, target: IncidentState) -> bool:
    """Tell whether the plan allows moving from current to target."""
    return target in ALLOWED[current]


def timestamp_problem(stamps: dict[str, datetime | None]) -> str | None:
    """Return why the lifecycle timestamps are out of order, or None when they are in order."""
    previous_name, previous = None, None
    for name in TIMESTAMP_ORDER:
        value = stamps.get(name)
        if value is None:
            continue
        if previous is not None and value < previous:
            return f"{name} ({value.isoformat()}) is before {previous_name} ({previous.isoformat()})"
        previous_name, previous = name, value
    return None


def durations(stamps: dict[str, datetime | None]) -> dict[str, float | None]:
    """Return TTD / TTA / TTM / TTR in minutes (None where a timestamp is missing)."""

    def minutes(start: str, end: str) -> float | None:
        a, b = stamps.get(start), stamps.get(end)
        return None if a is None or b is None else (b - a).total_seconds() / 60

    return {
        "TTD": minutes("started_at", "detected_at"),
        "TTA": minutes("detected_at", "acknowledged_at"),
        "TTM": minutes("detected_at", "mitigated_at"),
        "TTR": minutes("detected_at", "resolved_at"),
    }
