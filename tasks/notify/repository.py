"""SQL of the outbox and of chasing: queue once per dedup key, claim before sending, record results,
advance escalation tiers, find failures to report; what was sent about an incident, and to whom."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, not_, or_, select, true, update
from sqlalchemy.orm import Session

from tasks.db import insert_ignoring_duplicates
from tasks.incidents.state import ACTIVE_STATES
from tasks.models import CompensationItem, DetectionHit, Incident, Notification
from tasks.notify.chat import CHAT_KINDS
from tasks.notify.delivery import GIVE_UP_AFTER, MAX_UNCERTAIN_ATTEMPTS, DeliveryStatus

STALE_CLAIM = timedelta(minutes=10)


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
    active = session.scalars(select(Incident).where(Incident.state.in_(ACTIVE_STATES)))
    return [i.key for i in active if not has_alert(session, i)]


def compensated_orders(session: Session, incident_id: int) -> int:
    """Return how many orders of the incident are in the compensation ledger."""
    return int(session.scalar(select(func.count(CompensationItem.id))
                              .where(CompensationItem.incident_id == incident_id)) or 0)


def _is_chat() -> ColumnElement[bool]:
    """Whether a row goes to a group robot or the SMS gateway (`wecom:…`, `sms:…`) rather than a mailbox."""
    return or_(*(Notification.recipient.like(f"{kind}:%") for kind in CHAT_KINDS))


def deliverable_ids(session: Session, now: datetime, *, chat: bool | None = None) -> list[int]:
    """Return outbox ids to try now: pending ones no longer held, uncertain ones not yet tried
    MAX_UNCERTAIN_ATTEMPTS times, and claims left stale by a dead run; only chat messages (group robots,
    SMS) with `chat=True`, only mail with `chat=False`."""
    channel = true() if chat is None else (_is_chat() if chat else not_(_is_chat()))
    return list(
        session.scalars(
            select(Notification.id).where(
                channel,
                or_(
                    (Notification.status == DeliveryStatus.PENDING.value)
                    & or_(Notification.not_before.is_(None), Notification.not_before <= now),
                    (Notification.status == DeliveryStatus.UNCERTAIN.value)
                    & (Notification.attempts < MAX_UNCERTAIN_ATTEMPTS),
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
    if row.status not in (DeliveryStatus.PENDING.value, DeliveryStatus.UNCERTAIN.value) and not stale:
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


def status_of(session: Session, notification_id: int) -> str | None:
    """Return a message's delivery status (None when there is no such message)."""
    return session.scalar(select(Notification.status).where(Notification.id == notification_id))


def finish(session: Session, notification_id: int, status: DeliveryStatus, now: datetime, error: str = "") -> None:
    """Record the outcome of one attempt."""
    values: dict[str, object] = {"status": status.value, "last_error": error or None}
    if status is DeliveryStatus.SENT:
        values["sent_at"] = now
    if status in (DeliveryStatus.PENDING, DeliveryStatus.UNCERTAIN):
        values["claimed_at"] = None
    session.execute(update(Notification).where(Notification.id == notification_id).values(**values))


def give_up_expired(session: Session, now: datetime) -> int:
    """Mark messages still pending GIVE_UP_AFTER after they were queued as failed; return how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.status == DeliveryStatus.PENDING.value, Notification.created_at < now - GIVE_UP_AFTER)
        .values(status=DeliveryStatus.FAILED.value,
                last_error=func.coalesce(Notification.last_error, "") + f"（超过 {GIVE_UP_AFTER.total_seconds() / 3600:g} 小时未送达，已放弃）")
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


def sent_count(session: Session, incident_id: int) -> int:
    """Return how many of the incident's messages were sent."""
    return int(session.scalar(select(func.count(Notification.id)).where(
        Notification.incident_id == incident_id, Notification.status == DeliveryStatus.SENT.value)) or 0)


def first_sent_at(session: Session, incident_id: int, kind: str) -> datetime | None:
    """Return when the incident's first message of `kind` was sent (None if none was)."""
    return session.scalar(select(func.min(Notification.sent_at)).where(
        Notification.incident_id == incident_id, Notification.kind == kind,
        Notification.status == DeliveryStatus.SENT.value))


def recipients_of(session: Session, incident_id: int, *, kinds: Collection[str] | None = None,
                  excluding: str | None = None) -> set[str]:
    """Return the mail addresses the incident's messages went to (queued or sent; never a group robot or
    phone): of `kinds` only, or all but the kind `excluding`."""
    query = select(Notification.recipient).where(Notification.incident_id == incident_id, not_(_is_chat()))
    if kinds is not None:
        query = query.where(Notification.kind.in_(tuple(kinds)))
    if excluding is not None:
        query = query.where(Notification.kind != excluding)
    return set(session.scalars(query))


def latest_hit_reasons(session: Session, incident_id: int, until: datetime) -> list[str]:
    """Return why the detection rules enforced for the incident in its latest window up to `until` fired."""
    last = session.scalar(select(func.max(DetectionHit.window_end)).where(
        DetectionHit.incident_id == incident_id, DetectionHit.mode == "enforce", DetectionHit.window_end <= until))
    if last is None:
        return []
    return list(session.scalars(select(DetectionHit.reason).where(
        DetectionHit.incident_id == incident_id, DetectionHit.mode == "enforce", DetectionHit.window_end == last)
        .order_by(DetectionHit.rule)))
