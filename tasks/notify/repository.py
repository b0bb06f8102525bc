"""SQL of the outbox and of chasing: queue once per dedup key, claim before sending, record results,
advance escalation tiers, find failures to report."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from tasks.db import insert_ignoring_duplicates
from tasks.errors import NotFound
from tasks.models import CompensationItem, Incident, IncidentMetric, Mention, Notification
from tasks.notify.delivery import GIVE_UP_AFTER, DeliveryStatus
from tasks.triage.lifecycle import ACTIVE_STATES, IncidentState

STALE_CLAIM = timedelta(minutes=10)
HANDLED_STATES = (IncidentState.ACKNOWLEDGED.value, IncidentState.RESPONDING.value, IncidentState.MONITORING.value)


def enqueue(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert outbox rows whose dedup key is new; return how many were added."""
    if not rows:
        return 0
    statement = insert_ignoring_duplicates(Notification).returning(Notification.id)
    return len(session.execute(statement, rows).all())


def locked_incident(session: Session, key: str) -> Incident:
    """Return the incident, its row locked until the transaction ends (PostgreSQL), or raise NotFound."""
    incident = session.scalars(select(Incident).where(Incident.key == key).with_for_update()).first()
    if incident is None:
        raise NotFound(f"no incident with key {key!r}")
    return incident


def has_alert(session: Session, incident: Incident) -> bool:
    """Tell whether alerts for the incident's current level are already in the outbox."""
    prefix = f"alert:{incident.key}:{incident.level}:"
    return session.scalar(select(Notification.id).where(Notification.dedup_key.like(prefix + "%")).limit(1)) is not None


def incidents_without_alerts(session: Session) -> list[str]:
    """Return keys of active incidents whose current level has no alert queued (the sweep's work)."""
    active = session.scalars(select(Incident).where(Incident.state.in_([s.value for s in ACTIVE_STATES])))
    return [i.key for i in active if not has_alert(session, i)]


def top_posts(session: Session, incident_id: int, limit: int = 5) -> list[Mention]:
    """Return the incident's widest-reaching mentions."""
    return list(
        session.scalars(
            select(Mention).where(Mention.incident_id == incident_id)
            .order_by(Mention.reach.desc(), Mention.id).limit(limit)
        )
    )


def escalation_candidates(session: Session, below_tier: int, key: str | None = None) -> list[str]:
    """Return keys of open, alerted incidents that have not reached the last tier (one key, if given)."""
    query = select(Incident.key).where(
        Incident.state == IncidentState.OPEN.value, Incident.alerted_at.is_not(None),
        Incident.escalation_tier < below_tier,
    )
    if key is not None:
        query = query.where(Incident.key == key)
    return list(session.scalars(query.order_by(Incident.id)))


def advance_tier(session: Session, incident_id: int, reached: int, target: int) -> bool:
    """Move an open incident from tier `reached` to `target`; False when another run (or an
    acknowledgement) changed it first — then this step is not taken here."""
    result = session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.escalation_tier == reached,
               Incident.state == IncidentState.OPEN.value)
        .values(escalation_tier=target)
    )
    return result.rowcount == 1


def handled_incidents(session: Session, key: str | None = None) -> list[Incident]:
    """Return alerted incidents someone is handling (acknowledged, responding, monitoring)."""
    query = select(Incident).where(Incident.state.in_(HANDLED_STATES), Incident.alerted_at.is_not(None))
    if key is not None:
        query = query.where(Incident.key == key)
    return list(session.scalars(query.order_by(Incident.id)))


def latest_metric(session: Session, incident_id: int) -> IncidentMetric | None:
    """Return the incident's most recent window of metrics."""
    return session.scalars(
        select(IncidentMetric).where(IncidentMetric.incident_id == incident_id)
        .order_by(IncidentMetric.window_end.desc()).limit(1)
    ).first()


def compensated_orders(session: Session, incident_id: int) -> int:
    """Return how many orders of the incident are in the compensation ledger."""
    return int(session.scalar(select(func.count(CompensationItem.id))
                              .where(CompensationItem.incident_id == incident_id)) or 0)


def deliverable_ids(session: Session, now: datetime) -> list[int]:
    """Return outbox ids to try now: pending ones no longer held, and claims left stale by a dead run."""
    return list(
        session.scalars(
            select(Notification.id).where(
                or_(
                    (Notification.status == DeliveryStatus.PENDING.value)
                    & or_(Notification.not_before.is_(None), Notification.not_before <= now),
                    (Notification.status == DeliveryStatus.SENDING.value)
                    & (Notification.claimed_at < now - STALE_CLAIM),
                ),
            ).order_by(Notification.id)
        )
    )


def claim(session: Session, notification_id: int, now: datetime) -> Notification | None:
    """Mark one message as being sent by this run; None when another run got it first or is sending it
    now (only a claim left stale by a dead run is taken over)."""
    row = session.get(Notification, notification_id)
    if row is None:
        return None
    stale = (row.status == DeliveryStatus.SENDING.value and row.claimed_at is not None
             and row.claimed_at < now - STALE_CLAIM)
    if row.status != DeliveryStatus.PENDING.value and not stale:
        return None
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.attempts == row.attempts,
               Notification.status == row.status)
        .values(status=DeliveryStatus.SENDING.value, attempts=row.attempts + 1, claimed_at=now)
    )
    if result.rowcount != 1:
        return None
    session.refresh(row)
    return row


def finish(session: Session, notification_id: int, status: DeliveryStatus, now: datetime, error: str = "") -> None:
    """Record the outcome of one attempt."""
    values: dict[str, object] = {"status": status.value, "last_error": error or None}
    if status is DeliveryStatus.SENT:
        values["sent_at"] = now
    if status is DeliveryStatus.PENDING:
        values["claimed_at"] = None
    session.execute(update(Notification).where(Notification.id == notification_id).values(**values))


def give_up_expired(session: Session, now: datetime) -> int:
    """Mark messages still pending GIVE_UP_AFTER after they were queued as failed; return how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.status == DeliveryStatus.PENDING.value, Notification.created_at < now - GIVE_UP_AFTER)
        .values(status=DeliveryStatus.FAILED.value,
                last_error=func.coalesce(Notification.last_error, "") + f" (undelivered for {GIVE_UP_AFTER})")
    )
    return result.rowcount or 0


def claim_unreported_failures(session: Session, now: datetime) -> list[Notification]:
    """Mark failed messages not reported yet as reported now and return them (each is returned once)."""
    ids = list(session.scalars(
        update(Notification)
        .where(Notification.status == DeliveryStatus.FAILED.value, Notification.reported_at.is_(None))
        .values(reported_at=now)
        .returning(Notification.id)
    ))
    if not ids:
        return []
    return list(session.scalars(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)))


def notifications_of(session: Session, incident_id: int) -> list[Notification]:
    """Return the incident's outbox rows in the order they were queued."""
    return list(session.scalars(select(Notification).where(Notification.incident_id == incident_id)
                                .order_by(Notification.id)))
