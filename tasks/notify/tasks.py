"""Prefect tasks of notification (应急响应、快速反应): queue alerts in the outbox, deliver them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from prefect import get_run_logger, task
from prefect.events import Event

from config.files import load_playbooks, load_roster
from config.settings import get_settings, read_environment
from tasks import audit
from tasks.common import show_time
from tasks.db import session_scope
from tasks.errors import CrisisError
from tasks.events import INCIDENT_ACKNOWLEDGED, INCIDENT_OPENED, emit_incident_event, incident_resource
from tasks.incidents import transition
from tasks.models import Incident
from tasks.notify import repository
from tasks.notify.delivery import GIVE_UP_AFTER, DeliveryStatus, is_transient
from tasks.notify.routing import Recipient, recipients
from tasks.notify.senders import SmtpSender
from tasks.notify.templates import one_line, render_mail
from tasks.triage.lifecycle import IncidentState
from tasks.triage.repository import get_incident
from tasks.triage.severity import LEVEL_COLOURS, LEVEL_NAMES, Level

LEVEL_CSS = {"I": "#c0392b", "II": "#e67e22", "III": "#d4ac0d", "IV": "#2e86c1"}


class DeliveryDeferred(CrisisError):
    """Some messages could not be delivered yet (SMTP unavailable); the outbox keeps them pending."""


class DeliveryFailed(CrisisError):
    """Some messages failed for good (rejected address, 5xx); they are marked failed."""


def retry_deferred(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Prefect retry_condition_fn: retry only deliveries deferred by a transient SMTP failure."""
    try:
        state.result()
    except DeliveryDeferred:
        return True
    except Exception:  # noqa: BLE001 - anything else is not worth a retry
        return False
    return False


@dataclass
class DeliveryReport:
    sent: int = 0
    retry_later: int = 0
    failed: list[str] = field(default_factory=list)


def _roster_people() -> list[Recipient]:
    return [Recipient(p.name, p.email, tuple(p.roles)) for p in load_roster().people]


def alert_context(incident: Incident, posts: list, person: Recipient) -> dict[str, object]:  # type: ignore[type-arg]
    """Return the template context of an alert for one recipient (post text stays raw: templates escape)."""
    level = Level(incident.level)
    return {
        "key": incident.key, "brand": incident.brand, "category": incident.category,
        "level": level.value, "level_name": LEVEL_NAMES[level], "level_colour": LEVEL_COLOURS[level],
        "level_css": LEVEL_CSS[level.value], "heat": incident.heat, "reason": incident.trigger_reason,
        "detected_at": show_time(incident.detected_at), "drill": incident.is_drill,
        "greeting": f"{person.name}（{'、'.join(load_roster().roles[r] for r in person.roles)}）您好：",
        "posts": [
            {"platform": p.platform or p.source, "author": one_line(p.author or "匿名", 40),
             "reach": f"{p.reach:,}", "text": one_line(p.text), "url": p.url or ""}
            for p in posts
        ],
        "playbook": load_playbooks().for_category(incident.category),
        "ui_url": (read_environment("PREFECT_UI_URL") or "http://127.0.0.1:4200").rstrip("/") + "/runs",
        "sender_name": get_settings().email.sender_name,
    }


@task(task_run_name="queue-alerts-{incident_key}")
def queue_alerts(incident_key: str, now: datetime, actor: str) -> int:
    """Record one alert per recipient in the outbox. Safe to re-run: dedup keys already queued are skipped."""
    roster = load_roster()
    templates = get_settings().config_dir / "templates"
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        people = recipients(incident.level, incident.category, _roster_people(),
                            roster.notify.model_dump(exclude={"by_category"}), roster.notify.by_category)
        posts = repository.top_posts(session, incident.id)
        rows = []
        for person in people:
            mail = render_mail("alert", alert_context(incident, posts, person), templates)
            dedup = f"alert:{incident.key}:{incident.level}:{person.email.lower()}"
            rows.append({
                "incident_id": incident.id, "kind": "alert", "recipient": person.email, "dedup_key": dedup,
                "subject": mail.subject, "body_text": mail.text, "body_html": mail.html,
                "status": DeliveryStatus.PENDING.value, "attempts": 0,
                "message_id": repository.message_id_for(dedup), "created_at": now,
            })
        added = repository.enqueue(session, rows)
        if added:
            audit.record(session, actor=actor, action="notification.queued", entity_type="incident",
                         entity_id=incident.key, at=now,
                         after={"kind": "alert", "level": incident.level, "recipients": [r["recipient"] for r in rows]})
    get_run_logger().info("%s: %d alert(s) queued, %d already in the outbox", incident_key, added, len(rows) - added)
    return added


@task
def incidents_needing_alerts() -> list[str]:
    """Return active incidents whose current level has not been alerted (no side effect)."""
    with session_scope() as session:
        return repository.incidents_without_alerts(session)


def _attempt(sender: SmtpSender, notification_id: int, now: datetime, report: DeliveryReport) -> None:
    with session_scope() as session:
        row = repository.claim(session, notification_id, now)
    if row is None:
        return
    try:
        sender.send(row.recipient, row.subject, row.body_text, row.body_html, row.message_id)
    except Exception as exc:  # noqa: BLE001 - classified below and recorded, never swallowed
        transient = is_transient(exc)
        status = DeliveryStatus.PENDING if transient else DeliveryStatus.FAILED
        with session_scope() as session:
            repository.finish(session, row.id, status, now, f"{type(exc).__name__}: {exc}")
        if transient:
            report.retry_later += 1
            sender.connected = False
        else:
            report.failed.append(f"{row.recipient}: {exc}")
        return
    with session_scope() as session:
        repository.finish(session, row.id, DeliveryStatus.SENT, now)
    report.sent += 1


@task(retries=4, retry_delay_seconds=[5, 15, 45, 120], retry_jitter_factor=0.5,
      retry_condition_fn=retry_deferred)
def deliver_outbox(now: datetime) -> dict[str, object]:
    """Send every deliverable outbox message once. Safe to re-run: sent messages are never sent again.

    A message that fails for good (5xx, bad address) is marked failed; one that fails for now
    (server down, 4xx) stays pending for the next attempt or the next sweep.
    """
    report = DeliveryReport()
    sender = SmtpSender(get_settings().email)
    with session_scope() as session:
        ids = repository.deliverable_ids(session, now)
    try:
        for notification_id in ids:
            _attempt(sender, notification_id, now, report)
    finally:
        sender.close()
    with session_scope() as session:
        expired = repository.give_up_expired(session, now)
    if expired:
        report.failed.append(f"{expired} message(s) undelivered for {GIVE_UP_AFTER}")
    get_run_logger().info("outbox: %d sent, %d to retry later, %d failed", report.sent, report.retry_later,
                          len(report.failed))
    if report.retry_later:
        raise DeliveryDeferred(f"{report.retry_later} message(s) kept for a later attempt (SMTP unavailable)")
    if report.failed:
        raise DeliveryFailed(f"{len(report.failed)} message(s) failed for good: " + "; ".join(report.failed))
    return {"sent": report.sent}


def acknowledge(incident_key: str, by: str, note: str, now: datetime) -> None:
    """Record that `by` owns the incident (确认接手) and emit crisis.incident.acknowledged.

    The event follows the opening event, so Prefect sees the pair. Acknowledging twice is refused.
    """
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        transition(session, incident, IncidentState.ACKNOWLEDGED, actor=by, at=now, note=note,
                   acknowledged_by=by, owner=by)
        opened = _opened_event(incident)
        brand, level = incident.brand, incident.level
    emit_incident_event(INCIDENT_ACKNOWLEDGED, incident_key, brand=brand, level=level,
                        payload={"by": by, "note": note}, follows=opened)


def _opened_event(incident: Incident) -> Event | None:
    if not incident.opened_event_id or not incident.opened_event_at:
        return None
    return Event(id=UUID(incident.opened_event_id), occurred=incident.opened_event_at,
                 event=INCIDENT_OPENED, resource=incident_resource(incident.key))
