"""SQL of the outbox: queue once per dedup key, claim a message before sending it, record results."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tasks.db import insert_ignoring_duplicates
from tasks.models import Incident, Mention, Notification
from tasks.notify.delivery import GIVE_UP_AFTER, DeliveryStatus
from tasks.triage.lifecycle import ACTIVE_STATES

STALE_CLAIM = timedelta(minutes=10)


def message_id_for(dedup_key: str) -> str:
    """Return a Message-ID that stays the same for every attempt at the same message."""
    return f"<{hashlib.sha256(dedup_key.encode()).hexdigest()[:32]}@crisis.local>"


def enqueue(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert outbox rows whose dedup key is new; return how many were added."""
    if not rows:
        return 0
    statement = insert_ignoring_duplicates(Notification).returning(Notification.id)
    return len(session.execute(statement, rows).all())


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


def deliverable_ids(session: Session, now: datetime) -> list[int]:
    """Return outbox ids to try now: pending ones, and claims left stale by a dead run."""
    return list(
        session.scalars(
            select(Notification.id).where(
                or_(
                    Notification.status == DeliveryStatus.PENDING.value,
                    (Notification.status == DeliveryStatus.SENDING.value)
                    & (Notification.claimed_at < now - STALE_CLAIM),
                ),
            ).order_by(Notification.id)
        )
    )


def claim(session: Session, notification_id: int, now: datetime) -> Notification | None:
    """Mark one message as being sent by this run; None when another run got it first."""
    row = session.get(Notification, notification_id)
    if row is None or row.status not in (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value):
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
        .values(status=DeliveryStatus.FAILED.value)
    )
    return result.rowcount or 0
