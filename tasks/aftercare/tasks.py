"""Prefect tasks of after-action (监测和反馈): recovery checks on evidence, second waves, resolution, and telling
the scribe when an incident cannot be judged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import TYPE_CHECKING

from prefect import get_run_logger, task

from config.detection import load_detection
from config.files import load_roster, load_severity, load_sources
from config.settings import get_settings
from tasks import audit
from tasks.aftercare import repository
from tasks.aftercare.recovery import (
    Evidence,
    Outcome,
    RecoveryCheck,
    RecoveryInput,
    SourceState,
    check_recovery,
    consecutive_recovered,
    evidence_gaps,
    insufficient_in_a_row,
)
from tasks.common import show_time
from tasks.db import session_scope
from tasks.events import INCIDENT_RECOVERED, INCIDENT_RESOLVED, emit_incident_event
from tasks.incidents import repository as incidents
from tasks.incidents.service import announce, dismiss, escalate, transition
from tasks.incidents.state import OTHER_CATEGORY, RESOLUTION_NAMES, IncidentState, Level, Resolution, one_up
from tasks.models import Incident
from tasks.monitoring.repository import stored_health
from tasks.notify import repository as notify_repository
from tasks.notify.templates import clean_subject, inert
from tasks.outbox import queue_mail
from tasks.triage.repository import WindowStats, window_stats
from tasks.triage.severity import heat_index

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CANNOT_JUDGE = "recovery.cannot_judge"


@task
def incidents_in_monitoring() -> list[str]:
    """Return keys of incidents in monitoring (no side effect)."""
    with session_scope() as session:
        return incidents.keys_in_state(session, IncidentState.MONITORING)


def _check(session: Session, incident: Incident, now: datetime) -> RecoveryCheck:
    cfg, det = get_settings().recovery, load_detection()
    drill = incident.is_drill  # a drill recovers on its own source's mentions
    start = now - timedelta(hours=cfg.window_hours)
    # A story a responder dismissed (误报/谣言) counts neither way, as in detection: its reposts neither hold
    # back this incident's recovery nor raise a second wave.
    days = det.dismissed_days
    base = window_stats(session, incident.started_at - timedelta(hours=cfg.baseline_hours), incident.started_at, drill,
                        days)
    window = window_stats(session, start, now, drill, days)
    recent = window_stats(session, now - timedelta(minutes=det.window_minutes), now, drill, days)
    b, w, r = base.get(incident.brand), window.get(incident.brand), recent.get(incident.brand)
    own = _category_negatives(r, incident.category)
    own_reach = round(r.negative_reach * own / r.negative) if r and r.negative else 0
    mentions = w.volume if w else 0
    gaps = evidence_gaps(Evidence(mentions, cfg.min_mentions, start, _feeding_sources(session, incident, now)),
                         show_time)
    return check_recovery(RecoveryInput(
        baseline_share=b.negative_share if b else 0.0, window_share=w.negative_share if w else 0.0,
        recent_negative=own, recent_share=r.negative_share if r else 0.0,
        recent_heat=heat_index(own, own_reach), tolerance=cfg.tolerance,
        min_volume=det.min_volume, heat_ceiling=load_severity().heat[Level.III], window_mentions=mentions,
    ), gaps)


def _feeding_sources(session: Session, incident: Incident, now: datetime) -> list[SourceState]:
    """Return the enabled sources of sources.toml that brought the brand's mentions since the baseline began,
    with their stored health (a file handed to one scan, or a source switched off, is no feed to watch)."""
    since = incident.started_at - timedelta(hours=get_settings().recovery.baseline_hours)
    enabled = {source.name for source in load_sources().all() if source.enabled}
    health = stored_health(session)
    states = []
    for name in repository.feeding_sources(session, incident.brand, incident.is_drill, since, now):
        if name in enabled:
            row = health.get(name, {})
            last = row.get("last_success_at")
            states.append(SourceState(name, str(row.get("status", "never run")),
                                      last if isinstance(last, datetime) else None))
    return states


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


def _tell_cannot_judge(session: Session, incident: Incident, result: RecoveryCheck, checks: int, now: datetime,
                       actor: str) -> None:
    """Tell the scribe once that the incident cannot be judged (无法判断恢复情况), and audit it."""
    if repository.audited_once(session, incident.key, CANNOT_JUDGE):
        return
    scribes = sorted({p.email for p in load_roster().people if "scribe" in p.roles})
    prefix = "【演练】" if incident.is_drill else ""
    subject = clean_subject(f"{prefix}【无法判断恢复情况】{incident.brand}「{incident.category}」事件 {incident.key}")
    lines = [f"事件 {incident.key}（{incident.brand}「{incident.category}」）连续 {checks} 次回落检查数据不足，"
             "无法判断恢复情况。事件保持回落观察，不会因为没有数据而自动解决。",
             f"最近一次检查（{show_time(now)}）：{result.reason}",
             "请先恢复数据来源（见 source-health），之后的回落检查会照常判断。"]
    queue_mail(session, incident_id=incident.id, kind="recovery", recipients=scribes,
               dedup_prefix=f"cannot-judge:{incident.key}", subject=subject, body_text="\n\n".join(lines),
               body_html="".join(f"<p>{escape(line)}</p>" for line in lines), now=now)
    audit.record(session, actor=actor, action=CANNOT_JUDGE, entity_type="incident", entity_id=incident.key, at=now,
                 after={"checks": checks, "reason": result.reason, "told": scribes})


@task(task_run_name="recovery-{incident_key}")
def evaluate_recovery(incident_key: str, now: datetime, actor: str) -> dict[str, object]:
    """Record this window's recovery check; resolve after enough consecutive recovered windows, or send
    the incident back to responding (re-escalated) on a second wave; after as many checks in a row without
    enough evidence, tell the scribe (once) that it cannot be judged. Safe to re-run: a window is
    checked once, only an incident in monitoring moves, and the scribe is told once per incident."""
    required = get_settings().recovery.windows_required
    with session_scope() as session:
        incident = incidents.get_incident(session, incident_key)
        if incident.state != IncidentState.MONITORING:
            return {"incident": incident_key, "outcome": "skipped", "reason": f"state is {incident.state}"}
        result = _check(session, incident, now)
        repository.record_check(session, incident.id, now, result.outcome.value, result.reason)
        outcomes = repository.outcomes_since(session, incident.id, incident.mitigated_at or incident.detected_at, now)
        resolved = result.recovered and consecutive_recovered(outcomes, required)
        if resolved:
            transition(session, incident, IncidentState.RESOLVED, actor=actor, at=now, note=result.reason)
        elif result.outcome is Outcome.SECOND_WAVE:
            _second_wave(session, incident, result, now, actor)
        elif (unjudged := insufficient_in_a_row(outcomes)) >= required:
            _tell_cannot_judge(session, incident, result, unjudged, now, actor)
        brand, level = incident.brand, incident.level
    get_run_logger().info("%s：%s", incident_key, result.reason)
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


@dataclass(frozen=True)
class Dismissal:
    rules: list[str]  # the detection rules that fired for the incident (recorded with a false alarm, for tuning)
    told: list[str]  # the addresses a 解除通知 is queued for


def dismiss_incident(incident_key: str, resolution: Resolution, reason: str, by: str, now: datetime) -> Dismissal:
    """Close an active incident at once as unfounded (谣言) or a false alarm (误报), audited, and tell those who
    were asked to act that they need not. From then on its story opens nothing (triage/repository.py
    dismissed_incidents, detection.toml's dismissed_days). `crisis close --as` and the dismiss-incident deployment."""
    with session_scope() as session:
        incident = incidents.locked_incident(session, incident_key)
        rules = incidents.fired_rules(session, incident.id)
        dismiss(session, incident, resolution, reason=reason, actor=by, at=now,
                rules=rules if resolution is Resolution.FALSE_ALARM else None)
        told = _tell_dismissed(session, incident, by, now)
    return Dismissal(rules, told)


TOLD_KINDS = ("alert", "escalation", "status")  # the mails that asked people to act on an incident


def _tell_dismissed(session: Session, incident: Incident, by: str, now: datetime) -> list[str]:
    """Queue a 解除通知 to everyone an alert, escalation or status mail of the incident went to (in the same
    transaction as the closing, once per person): they were asked to act and must hear that they need not.
    Delivered by the notify flow's next sweep. Return the addresses told."""
    told = sorted(notify_repository.recipients_of(session, incident.id, kinds=TOLD_KINDS), key=str.lower)
    if not told:
        return []
    how = RESOLUTION_NAMES[Resolution(incident.resolution)]
    prefix = "【演练】" if incident.is_drill else ""
    subject = clean_subject(f"{prefix}【已解除】{incident.brand}「{incident.category}」事件 {incident.key}：已按{how}关闭")
    lines = [f"事件 {incident.key}（{incident.brand}「{incident.category}」，{incident.level} 级）已于 {show_time(now)} "
             f"由 {by} 按{how}关闭，不构成危机，无需继续处置；此前的预警、升级和进展通报不再跟进。",
             f"理由：{incident.resolution_note or ''}",
             after_dismissal()]
    queue_mail(session, incident_id=incident.id, kind="dismissed", recipients=told,
               dedup_prefix=f"dismissed:{incident.key}", subject=subject,
               body_text="\n\n".join(inert(line) for line in lines),
               body_html="".join(f"<p>{escape(inert(line))}</p>" for line in lines), now=now)
    audit.record(session, actor=by, action="notification.queued", entity_type="incident", entity_id=incident.key,
                 at=now, after={"kind": "dismissed", "recipients": told})
    return told


def after_dismissal() -> str:
    """Say, in the words a responder reads, what closing an incident as 误报 or 谣言 does to detection."""
    days = load_detection().dismissed_days
    if days <= 0:
        return "该事件的帖子及其后续转发仍照常检测（detection.toml 的 dismissed_days 为 0）。"
    return (f"此后 {days} 天，该事件的帖子及其后续转发不再触发检测，仍在传播时列入待核实看板；"
            "同一品牌的新帖照常检测。")


def close_incident(incident_key: str, by: str, note: str, now: datetime) -> None:
    """Close a resolved incident once its review is accepted (复盘通过); audited."""
    with session_scope() as session:
        incident = incidents.get_incident(session, incident_key)
        transition(session, incident, IncidentState.CLOSED, actor=by, at=now, note=note or "复盘已通过")
