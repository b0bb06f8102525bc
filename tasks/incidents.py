"""The one way an incident changes state: checked against the plan, stamped, validated, audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tasks import audit
from tasks.errors import InvalidTransition
from tasks.models import Incident
from tasks.triage.lifecycle import STAMPS, IncidentState, can_transition, timestamp_problem


def snapshot(incident: Incident) -> dict[str, Any]:
    """Return the audited view of an incident."""
    return {
        "key": incident.key,
        "brand": incident.brand,
        "category": incident.category,
        "level": incident.level,
        "state": incident.state,
        "heat": incident.heat,
        "acknowledged_by": incident.acknowledged_by,
        **incident.stamps(),
    }


def transition(
    session: Session,
    incident: Incident,
    target: IncidentState,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    **changes: Any,
) -> None:
    """Move the incident to `target` at `at`, or raise InvalidTransition naming why."""
    current = IncidentState(incident.state)
    if not can_transition(current, target):
        raise InvalidTransition(f"{incident.key}: cannot go from {current} to {target}")
    before = snapshot(incident)
    stamp = STAMPS.get(target)
    if stamp and getattr(incident, stamp) is None:
        changes[stamp] = at
    stamps = {**incident.stamps(), **{k: v for k, v in changes.items() if k.endswith("_at")}}
    problem = timestamp_problem(stamps)
    if problem:
        raise InvalidTransition(f"{incident.key}: {problem}")
    for name, value in changes.items():
        setattr(incident, name, value)
    incident.state = target.value
    session.flush()
    after = snapshot(incident)
    if note:
        after["note"] = note
    audit.record(
        session, actor=actor, action=f"incident.{target.value}", entity_type="incident",
        entity_id=incident.key, at=at, before=before, after=after,
    )


def override_level(session: Session, incident: Incident, level: str, *, reason: str, actor: str, at: datetime) -> None:
    """Set the level by hand (人工定级), with a reason, audited. Later escalation only happens when
    the metrics call for a level above both this one and the last automatic one."""
    if level not in ("I", "II", "III", "IV"):
        raise InvalidTransition(f"{incident.key}: unknown level {level!r} (I, II, III or IV)")
    if not reason.strip():
        raise InvalidTransition(f"{incident.key}: a level override needs a reason")
    before = snapshot(incident)
    incident.level = level
    session.flush()
    audit.record(session, actor=actor, action="incident.level_overridden", entity_type="incident",
                 entity_id=incident.key, at=at, before=before, after={**snapshot(incident), "reason": reason})
