"""Prefect tasks of after-action (监测和反馈): recovery checks, second waves, resolution."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from prefect import get_run_logger, task

from config.detection import load_detection
from config.files import load_severity
from config.settings import get_settings
from tasks.aftercare import repository
from tasks.aftercare.recovery import Outcome, RecoveryCheck, RecoveryInput, check_recovery, consecutive_recovered
from tasks.db import session_scope
from tasks.events import INCIDENT_RECOVERED, INCIDENT_RESOLVED, emit_incident_event
from tasks.incidents import repository as incidents
from tasks.incidents.service import announce, escalate, transition
from tasks.incidents.state import OTHER_CATEGORY, IncidentState, Level, one_up
from tasks.models import Incident
from tasks.triage.repository import WindowStats, window_stats
from tasks.triage.severity import heat_index

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@task
def incidents_in_monitoring() -> list[str]:
    """Return keys of incidents in monitoring (no side effect)."""
    with session_scope() as session:
        return incidents.keys_in_state(session, IncidentState.MONITORING)


def _check(session: Session, incident: Incident, now: datetime) -> RecoveryCheck:
    cfg, det = get_settings().recovery, load_detection()
    drill = incident.is_drill  # a drill recovers on its own source's mentions
    base = window_stats(session, incident.started_at - timedelta(hours=cfg.baseline_hours), incident.started_at, drill)
    window = window_stats(session, now - timedelta(hours=cfg.window_hours), now, drill)
    recent = window_stats(session, now - timedelta(minutes=det.window_minutes), now, drill)
    b, w, r = base.get(incident.brand), window.get(incident.brand), recent.get(incident.brand)
    own = _category_negatives(r, incident.category)
    own_reach = round(r.negative_reach * own / r.negative) if r and r.negative else 0
    return check_recovery(RecoveryInput(
        baseline_share=b.negative_share if b else 0.0, window_share=w.negative_share if w else 0.0,
        recent_negative=own, recent_share=r.negative_share if r else 0.0,
        recent_heat=heat_index(own, own_reach), tolerance=cfg.tolerance,
        min_volume=det.min_volume, heat_ceiling=load_severity().heat[Level.III],
    ))


def _category_negatives(stats: WindowStats | None, category: str) -> int:
    """Return the window's negatives of the incident's category (其他 = those without a category)."""
    if stats is None:
        return 0
    if category == OTHER_CATEGORY:
        return stats.negative - sum(stats.categories.values())
    return stats.categories.get(category, 0)


def _second_wave(session: Session, incident: Incident, result: RecoveryCheck, now: datetime, actor: str) -> None:
    """Back to responding, one level up (二次爆发), announced at once."""
    transition(session, incident, IncidentState.RESPONDING, actor=actor, at=now, note=result.reason)
    escalate(session, incident, one_up(Level(incident.level)), reason=result.reason, actor=actor, at=now)
    announce(session, incident, reason=result.reason, second_wave=True)


@task(task_run_name="recovery-{incident_key}")
def evaluate_recovery(incident_key: str, now: datetime, actor: str) -> dict[str, object]:
    """Record this window's recovery check; resolve after enough consecutive recovered windows, or send
    the incident back to responding (re-escalated) on a second wave. Safe to re-run: a window is
    checked once and only an incident in monitoring moves."""
    required = get_settings().recovery.windows_required
    with session_scope() as session:
        incident = incidents.get_incident(session, incident_key)
        if incident.state != IncidentState.MONITORING:
            return {"incident": incident_key, "outcome": "skipped", "reason": f"state is {incident.state}"}
        result = _check(session, incident, now)
        repository.record_check(session, incident.id, now, result.outcome.value, result.reason)
        since = incident.mitigated_at or incident.detected_at
        resolved = result.recovered and consecutive_recovered(repository.outcomes_since(session, incident.id, since),
                                                              required)
        if resolved:
            transition(session, incident, IncidentState.RESOLVED, actor=actor, at=now, note=result.reason)
        elif result.outcome is Outcome.SECOND_WAVE:
            _second_wave(session, incident, result, now, actor)
        brand, level = incident.brand, incident.level
    get_run_logger().info("%s: %s", incident_key, result.reason)
    if resolved:
        emit_incident_event(INCIDENT_RECOVERED, incident_key, brand=brand, level=level, payload={"reason": result.reason})
        emit_incident_event(INCIDENT_RESOLVED, incident_key, brand=brand, level=level, payload={"reason": result.reason})
    return {"incident": incident_key, "outcome": "resolved" if resolved else result.outcome.value,
            "reason": result.reason}


def mitigate_incident(incident_key: str, by: str, note: str, now: datetime) -> None:
    """Record that the incident is mitigated (缓解): it moves to monitoring and recovery is watched."""
    with session_scope() as session:
        incident = incidents.get_incident(session, incident_key)
        if incident.state == IncidentState.ACKNOWLEDGED:
            transition(session, incident, IncidentState.RESPONDING, actor=by, at=now)
        transition(session, incident, IncidentState.MONITORING, actor=by, at=now, note=note)


def close_incident(incident_key: str, by: str, note: str, now: datetime) -> None:
    """Close a resolved incident once its review is accepted (复盘通过); audited."""
    with session_scope() as session:
        incident = incidents.get_incident(session, incident_key)
        transition(session, incident, IncidentState.CLOSED, actor=by, at=now, note=note or "复盘已通过")
