"""Prefect tasks of after-action (监测和反馈) and review (总结和反思)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from sqlalchemy import func, select

from config.detection import load_detection
from config.settings import get_settings
from tasks import audit
from tasks.aftercare.recovery import RecoveryCheck, check_recovery
from tasks.aftercare.review import ReviewData, TimelineEntry, render_review
from tasks.common import show_time
from tasks.compensation.repository import incident_totals
from tasks.db import session_scope
from tasks.events import INCIDENT_RECOVERED, INCIDENT_RESOLVED, emit_incident_event
from tasks.incidents import transition
from tasks.models import Incident, Notification
from tasks.notify.delivery import DeliveryStatus
from tasks.notify.repository import top_posts
from tasks.notify.templates import escape_markdown, one_line
from tasks.triage.lifecycle import IncidentState, durations
from tasks.triage.repository import get_incident, window_stats
from tasks.triage.severity import LEVEL_NAMES, Level


@task
def incidents_in_monitoring() -> list[str]:
    """Return keys of incidents in monitoring (no side effect)."""
    with session_scope() as session:
        return list(session.scalars(select(Incident.key).where(Incident.state == IncidentState.MONITORING.value)))


def _check(session, incident: Incident, now: datetime) -> RecoveryCheck:  # type: ignore[no-untyped-def]
    cfg = get_settings()
    base_end = incident.started_at
    baseline = window_stats(session, base_end - timedelta(hours=cfg.recovery.baseline_hours), base_end)
    current = window_stats(session, now - timedelta(hours=cfg.recovery.window_hours), now)
    det = load_detection()
    recent = window_stats(session, now - timedelta(minutes=det.window_minutes), now)
    b, c, r = baseline.get(incident.brand), current.get(incident.brand), recent.get(incident.brand)
    return check_recovery(b.negative_share if b else 0.0, c.negative_share if c else 0.0,
                          cfg.recovery.tolerance, r.negative if r else 0, det.min_volume)


@task(task_run_name="recovery-{incident_key}")
def evaluate_recovery(incident_key: str, now: datetime, actor: str) -> dict[str, object]:
    """Resolve the incident when its brand's opinion is back to baseline. Safe to re-run: a resolved
    incident is left alone."""
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        if incident.state != IncidentState.MONITORING.value:
            return {"incident": incident_key, "resolved": False, "reason": f"state is {incident.state}"}
        result = _check(session, incident, now)
        if result.recovered:
            transition(session, incident, IncidentState.RESOLVED, actor=actor, at=now, note=result.reason)
    get_run_logger().info("%s: %s", incident_key, result.reason)
    if result.recovered:
        emit_incident_event(INCIDENT_RECOVERED, incident_key, payload={"reason": result.reason})
        emit_incident_event(INCIDENT_RESOLVED, incident_key, payload={"reason": result.reason})
    return {"incident": incident_key, "resolved": result.recovered, "reason": result.reason}


def _detail(entry) -> str:  # type: ignore[no-untyped-def]
    after = json.loads(entry.after)
    parts = [f"{k}={after[k]}" for k in ("level", "state", "policy", "applied_orders") if k in after]
    if "amount_fen" in after:
        parts.append(f"金额 {after['amount_fen'] / 100:,.2f} 元")
    if "reason" in after or "note" in after:
        parts.append(str(after.get("reason") or after.get("note")))
    return escape_markdown("；".join(parts))


def _review_data(session, incident: Incident) -> ReviewData:  # type: ignore[no-untyped-def]
    entries = audit.entries_for(session, "incident", incident.key)
    sent = session.scalar(select(func.count(Notification.id)).where(
        Notification.incident_id == incident.id, Notification.status == DeliveryStatus.SENT.value))
    return ReviewData(
        key=incident.key, brand=incident.brand, category=incident.category, level=incident.level,
        level_name=LEVEL_NAMES[Level(incident.level)], state=incident.state,
        trigger_reason=escape_markdown(incident.trigger_reason),
        stamps={name: show_time(value) for name, value in incident.stamps().items()},
        durations=durations(incident.stamps()),
        timeline=[TimelineEntry(show_time(e.at), escape_markdown(e.actor), e.action, _detail(e))
                  for e in sorted(entries, key=lambda e: (e.at, e.seq))],
        compensation=incident_totals(session, incident.id),
        top_posts=[f"[{escape_markdown(p.platform or p.source)}] 触达 {p.reach:,}：{escape_markdown(one_line(p.text))}"
                   for p in top_posts(session, incident.id)],
        mail_sent=int(sent or 0),
    )


@task(task_run_name="review-{incident_key}")
def write_review(incident_key: str) -> str:
    """Write var/reviews/<KEY>.md and publish it as a markdown artifact. Safe to re-run: it overwrites."""
    with session_scope() as session:
        markdown = render_review(_review_data(session, get_incident(session, incident_key)))
    folder = get_settings().var_path / "reviews"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{incident_key}.md"
    path.write_text(markdown, encoding="utf-8")
    create_markdown_artifact(markdown=markdown, key=f"review-{incident_key.lower()}",
                             description=f"事件复盘 {incident_key}")
    get_run_logger().info("review written to %s", path)
    return str(path)
