"""What happens to an incident, each in one place: it opens, changes state (checked against the plan,
stamped, validated), escalates, has its level set by hand, is marked a possible rumour (or cleared), is
dismissed as unfounded or a false alarm, and is announced as an event. Every change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tasks import audit
from tasks.errors import InvalidTransition
from tasks.events import INCIDENT_ESCALATED, INCIDENT_OPENED, emit_incident_event
from tasks.incidents import repository
from tasks.incidents.state import (
    RESOLUTION_NAMES,
    STAMPS,
    IncidentState,
    Level,
    Resolution,
    can_dismiss,
    can_transition,
    is_higher,
    state_name,
    timestamp_problem,
)
from tasks.models import Incident

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


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
        "possible_rumour": incident.possible_rumour,
        "resolution": incident.resolution,
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
        raise InvalidTransition(f"{incident.key}：事件处于「{state_name(current)}」，不能转为「{state_name(target)}」")
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
    incident.state = target
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
    if level not in tuple(Level):
        raise InvalidTransition(f"{incident.key}：未知级别 {level}（{'、'.join(Level)}）")
    if not reason.strip():
        raise InvalidTransition(f"{incident.key}：人工定级须说明理由（--reason）")
    before = snapshot(incident)
    incident.level = Level(level)
    session.flush()
    audit.record(session, actor=actor, action="incident.level_overridden", entity_type="incident",
                 entity_id=incident.key, at=at, before=before, after={**snapshot(incident), "reason": reason})


def open_incident(session: Session, key: str, *, actor: str, at: datetime, reason: str, **fields: Any) -> Incident:
    """Create the incident `key` in state open, detected at `at`, audited with the reason it opened."""
    incident = repository.add_incident(session, key=key, state=IncidentState.OPEN, detected_at=at,
                                       trigger_reason=reason, **fields)
    audit.record(session, actor=actor, action="incident.opened", entity_type="incident", entity_id=key, at=at,
                 after={**snapshot(incident), "reason": reason})
    return incident


def escalate(session: Session, incident: Incident, to: Level, *, reason: str, actor: str, at: datetime) -> bool:
    """Raise the incident to level `to` (the metrics' level too), audited with the reason; False, and nothing
    changed, when `to` is not above the current level. Announced by `announce`."""
    if not is_higher(to, Level(incident.level)):
        return False
    before = snapshot(incident)
    incident.level = incident.auto_level = to
    session.flush()
    audit.record(session, actor=actor, action="incident.escalated", entity_type="incident", entity_id=incident.key,
                 at=at, before=before, after={**snapshot(incident), "reason": reason})
    return True


def announce(session: Session, incident: Incident, **payload: Any) -> None:
    """Emit `opened` for an incident never announced, `escalated` when its level rose above the last one
    announced, then remember the level announced. `payload` adds to (or overrides) the event's payload.
    Announcing again changes nothing."""
    if incident.announced_level is not None and incident.announced_level == incident.level:
        return
    body = {"level": incident.level, "category": incident.category, "heat": incident.heat,
            "reason": incident.trigger_reason, **payload}
    if incident.announced_level is None:
        event = emit_incident_event(INCIDENT_OPENED, incident.key, brand=incident.brand, level=incident.level,
                                    payload=body)
        incident.opened_event_id = str(event.id) if event else None
        incident.opened_event_at = event.occurred if event else None
    elif is_higher(Level(incident.level), Level(incident.announced_level)):
        emit_incident_event(INCIDENT_ESCALATED, incident.key, brand=incident.brand, level=incident.level,
                            payload={**body, "previous_level": incident.announced_level})
    incident.announced_level = incident.level


def announce_pending(session: Session) -> list[str]:
    """Announce every incident whose opening or latest level was not announced yet; return their keys.
    Reconciles from the database, so an event lost to a crash is emitted on the next call."""
    keys = []
    for incident in repository.unannounced(session):
        announce(session, incident)
        keys.append(incident.key)
    return keys


def mark_rumour(session: Session, incident: Incident, possible: bool, reason: str, *, actor: str,
                at: datetime) -> bool:
    """Mark the incident a possible rumour with the reason (or clear the mark), audited; False, and nothing
    changed, when the mark already says so (the reason of a standing mark is kept)."""
    if bool(incident.possible_rumour) == possible:
        return False
    before = snapshot(incident)
    incident.possible_rumour = possible
    incident.rumour_reason = reason or None
    session.flush()
    audit.record(session, actor=actor, action="incident.rumour_marked" if possible else "incident.rumour_cleared",
                 entity_type="incident", entity_id=incident.key, at=at, before=before,
                 after={**snapshot(incident), "reason": reason})
    return True


def dismiss(session: Session, incident: Incident, resolution: str, *, reason: str, actor: str, at: datetime,
            rules: list[str] | None = None) -> None:
    """Close an active incident at once as unfounded (谣言, 辟谣 done) or a false alarm (误报), with the
    reason and, for a false alarm, the detection rules that fired (kept so detection can be tuned); audited.
    Only closed_at is stamped: it was never mitigated or resolved, so it gives no TTM / TTR."""
    if resolution not in tuple(Resolution):
        raise InvalidTransition(f"{incident.key}：未知的关闭方式 {resolution}（{'、'.join(Resolution)}）")
    if not reason.strip():
        raise InvalidTransition(f"{incident.key}：按 {RESOLUTION_NAMES[Resolution(resolution)]} 关闭须说明理由（--reason）")
    current = IncidentState(incident.state)
    if not can_dismiss(current):
        raise InvalidTransition(f"{incident.key}：事件处于「{state_name(current)}」，不能按 "
                                f"{RESOLUTION_NAMES[Resolution(resolution)]} 关闭（只有新建、已确认、处理中、观察中的事件可以）")
    problem = timestamp_problem({**incident.stamps(), "closed_at": at})
    if problem:
        raise InvalidTransition(f"{incident.key}: {problem}")
    before = snapshot(incident)
    incident.state, incident.closed_at = IncidentState.CLOSED, at
    incident.resolution, incident.resolution_note = Resolution(resolution), reason.strip()
    session.flush()
    after: dict[str, Any] = {**snapshot(incident), "reason": reason.strip(), "trigger_reason": incident.trigger_reason}
    if rules is not None:
        after["rules"] = rules
    audit.record(session, actor=actor, action=f"incident.{resolution}", entity_type="incident",
                 entity_id=incident.key, at=at, before=before, after=after)
