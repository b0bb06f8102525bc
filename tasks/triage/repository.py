"""SQL of triage: window statistics, the active incident of a brand, incident keys."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tasks.errors import NotFound
from tasks.models import Incident, Mention
from tasks.triage.detection import WindowStats
from tasks.triage.lifecycle import ACTIVE_STATES


def window_stats(session: Session, start: datetime, end: datetime) -> dict[str, WindowStats]:
    """Return per-brand statistics of mentions published in (start, end]."""
    rows = session.execute(
        select(
            Mention.brand, Mention.negative, Mention.reach, Mention.published_at,
            Mention.category, Mention.critical_terms,
        ).where(Mention.brand.is_not(None), Mention.published_at > start, Mention.published_at <= end)
    )
    stats: dict[str, WindowStats] = {}
    for brand, negative, reach, published_at, category, critical in rows:
        s = stats.setdefault(brand, WindowStats(brand=brand))
        s.volume += 1
        if not negative:
            continue
        s.negative += 1
        s.negative_reach += reach
        if s.first_negative_at is None or published_at < s.first_negative_at:
            s.first_negative_at = published_at
        if category:
            s.categories[category] += 1
        for term in filter(None, critical.split(",")):
            s.critical_terms[term] += 1
    return stats


def active_incident(session: Session, brand: str) -> Incident | None:
    """Return the brand's incident that is still being handled, if any."""
    return session.scalars(
        select(Incident)
        .where(Incident.brand == brand, Incident.state.in_([s.value for s in ACTIVE_STATES]))
        .order_by(Incident.id.desc())
        .limit(1)
    ).first()


def next_incident_key(session: Session, day: str) -> str:
    """Return the next free key of the day, INC-YYYYMMDD-NNN."""
    prefix = f"INC-{day}-"
    last = session.scalar(select(func.max(Incident.key)).where(Incident.key.like(prefix + "%")))
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:03d}"


def attach_negative_mentions(session: Session, incident: Incident, since: datetime, until: datetime) -> int:
    """Link the brand's unlinked negative mentions published in [since, until] to the incident."""
    result = session.execute(
        update(Mention)
        .where(
            Mention.brand == incident.brand,
            Mention.negative.is_(True),
            Mention.incident_id.is_(None),
            Mention.published_at >= since,
            Mention.published_at <= until,
        )
        .values(incident_id=incident.id)
    )
    return result.rowcount or 0


def get_incident(session: Session, key: str) -> Incident:
    """Return the incident with this key or raise NotFound."""
    incident = session.scalars(select(Incident).where(Incident.key == key)).first()
    if incident is None:
        raise NotFound(f"no incident with key {key!r}")
    return incident


def list_incidents(session: Session, limit: int = 50) -> list[Incident]:
    """Return the newest incidents first."""
    return list(session.scalars(select(Incident).order_by(Incident.id.desc()).limit(limit)))


def unannounced(session: Session) -> list[Incident]:
    """Return incidents whose opening or latest level has not been announced as an event."""
    return list(
        session.scalars(
            select(Incident)
            .where((Incident.announced_level.is_(None)) | (Incident.announced_level != Incident.level))
            .order_by(Incident.id)
        )
    )


def lookback(end: datetime, minutes: int) -> datetime:
    """Return the start of a window of `minutes` ending at `end`."""
    return end - timedelta(minutes=minutes)
