"""Prefect tasks of triage (确定危机事件的性质和范围): open or update incidents, announce them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from config.files import load_severity
from config.settings import get_settings
from tasks import audit
from tasks.common import local_zone, retry_transient_db, show_time
from tasks.db import session_scope
from tasks.events import INCIDENT_ESCALATED, INCIDENT_OPENED, emit_incident_event
from tasks.incidents import snapshot
from tasks.models import Incident, IncidentMetric
from tasks.triage import repository
from tasks.triage.detection import WindowStats, threshold_reason
from tasks.triage.lifecycle import IncidentState
from tasks.triage.severity import LEVEL_NAMES, Level, grade, heat_index, is_higher

FALLBACK_CATEGORY = "产品质量"


@dataclass(frozen=True)
class IncidentChange:
    incident_key: str
    kind: str  # opened | escalated | updated
    level: str
    previous_level: str | None = None


def _grade(stats: WindowStats) -> tuple[float, Level, str]:
    severity = load_severity()
    heat = heat_index(stats.negative, stats.negative_reach)
    category = stats.main_category(FALLBACK_CATEGORY)
    level = grade(heat, category, severity.heat, severity.category_floor)
    return heat, level, category


def _open(session, stats: WindowStats, reason: str, now: datetime, actor: str) -> IncidentChange:  # type: ignore[no-untyped-def]
    heat, level, category = _grade(stats)
    key = repository.next_incident_key(session, now.astimezone(local_zone()).strftime("%Y%m%d"))
    incident = Incident(
        key=key, brand=stats.brand, category=category, level=level.value, state=IncidentState.OPEN.value,
        heat=heat, trigger_reason=reason, negative_count=stats.negative, reach=stats.negative_reach,
        started_at=stats.first_negative_at or now, detected_at=now,
    )
    session.add(incident)
    session.flush()
    audit.record(session, actor=actor, action="incident.opened", entity_type="incident",
                 entity_id=key, at=now, after={**snapshot(incident), "reason": reason})
    return IncidentChange(key, "opened", level.value)


def _update(session, incident: Incident, stats: WindowStats, now: datetime, actor: str) -> IncidentChange:  # type: ignore[no-untyped-def]
    heat, level, _ = _grade(stats)
    incident.heat = max(incident.heat, heat)
    incident.negative_count = max(incident.negative_count, stats.negative)
    incident.reach = max(incident.reach, stats.negative_reach)
    if not is_higher(level, Level(incident.level)):
        return IncidentChange(incident.key, "updated", incident.level)
    before = snapshot(incident)
    previous, incident.level = incident.level, level.value
    session.flush()
    audit.record(session, actor=actor, action="incident.escalated", entity_type="incident",
                 entity_id=incident.key, at=now, before=before,
                 after={**snapshot(incident), "reason": f"热度升至 {heat:.1f}，级别 {previous} → {level.value}"})
    return IncidentChange(incident.key, "escalated", level.value, previous)


@task(retries=2, retry_delay_seconds=[2, 8], retry_jitter_factor=0.5, retry_condition_fn=retry_transient_db)
def update_incidents(window_end: datetime, actor: str) -> list[IncidentChange]:
    """Open incidents for brands over the threshold, update and escalate active ones, record metrics.

    Safe to re-run for the same window: an active incident absorbs the brand instead of a new one,
    and the metric row of a window is written once.
    """
    cfg = get_settings().triage
    start = repository.lookback(window_end, cfg.window_minutes)
    changes: list[IncidentChange] = []
    with session_scope() as session:
        for brand, stats in sorted(repository.window_stats(session, start, window_end).items()):
            incident = repository.active_incident(session, brand)
            if incident is None:
                heat = heat_index(stats.negative, stats.negative_reach)
                reason = threshold_reason(stats, cfg.window_minutes, cfg.min_negative, heat)
                if reason is None:
                    continue
                changes.append(_open(session, stats, reason, window_end, actor))
                incident = repository.get_incident(session, changes[-1].incident_key)
            else:
                changes.append(_update(session, incident, stats, window_end, actor))
            repository.attach_negative_mentions(session, incident, incident.started_at, window_end)
            _record_metric(session, incident, stats, start, window_end)
    for change in changes:
        if change.kind != "updated":
            get_run_logger().warning("incident %s %s at level %s", change.incident_key, change.kind, change.level)
    return changes


def _record_metric(session, incident: Incident, stats: WindowStats, start: datetime, end: datetime) -> None:  # type: ignore[no-untyped-def]
    exists = session.query(IncidentMetric.id).filter_by(incident_id=incident.id, window_end=end).first()
    if exists:
        return
    session.add(IncidentMetric(
        incident_id=incident.id, window_start=start, window_end=end, volume=stats.volume,
        negative=stats.negative, negative_share=round(stats.negative_share, 4), reach=stats.negative_reach,
        heat=heat_index(stats.negative, stats.negative_reach),
    ))


@task
def announce_incidents() -> list[str]:
    """Emit `opened` / `escalated` for every incident whose state was not announced yet.

    Reconciles from the database, so an event lost to a crash is emitted on the next scan.
    """
    announced: list[str] = []
    with session_scope() as session:
        for incident in repository.unannounced(session):
            payload = {"level": incident.level, "category": incident.category, "heat": incident.heat,
                       "reason": incident.trigger_reason}
            if incident.announced_level is None:
                event = emit_incident_event(INCIDENT_OPENED, incident.key, brand=incident.brand,
                                            level=incident.level, payload=payload)
                incident.opened_event_id = str(event.id) if event else None
                incident.opened_event_at = event.occurred if event else None
            else:
                emit_incident_event(INCIDENT_ESCALATED, incident.key, brand=incident.brand,
                                    level=incident.level,
                                    payload={**payload, "previous_level": incident.announced_level})
            incident.announced_level = incident.level
            announced.append(incident.key)
    return announced


@task
def publish_incident_board() -> None:
    """Update the `incident-board` table artifact (newest incidents first)."""
    with session_scope() as session:
        rows = [
            {
                "key": i.key, "brand": i.brand, "category": i.category,
                "level": f"{i.level} {LEVEL_NAMES[Level(i.level)]}", "state": i.state, "heat": i.heat,
                "reason": i.trigger_reason, "detected": show_time(i.detected_at),
                "owner": i.acknowledged_by or "—",
            }
            for i in repository.list_incidents(session)
        ]
    create_table_artifact(key="incident-board", table=rows or [{"key": "—", "state": "no incidents"}],
                          description="Incident board (舆情事件看板), newest first")


def change_dicts(changes: list[IncidentChange]) -> list[dict[str, object]]:
    """Return changes as JSON-able dicts (flow return values)."""
    return [asdict(c) for c in changes]
