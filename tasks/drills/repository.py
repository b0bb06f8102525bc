"""SQL of drills: one drill start at a time, the drill row (record, find, list, due for grading), the drill
incident it opened, and withdrawing its feed's unpublished posts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tasks.db import hold_lock
from tasks.errors import NotFound
from tasks.incidents.repository import incident_by_id
from tasks.models import Drill, Incident, Mention

RUNNING, GRADED = "running", "graded"
DRILL_LOCK = 0x64726C6C  # "drll": two drill starts at the same moment take turns, so only one runs


def lock_drill_starts(session: Session) -> None:
    """Hold the drill-start lock until the transaction ends."""
    hold_lock(session, DRILL_LOCK)


def running_drill(session: Session) -> Drill | None:
    """Return the oldest drill still running, if any."""
    return session.scalars(select(Drill).where(Drill.status == RUNNING).order_by(Drill.id).limit(1)).first()


def new_drill(session: Session, **values: object) -> Drill:
    """Record a drill and return it with its id."""
    drill = Drill(**values)
    session.add(drill)
    session.flush()
    return drill


def get_drill(session: Session, drill_id: int) -> Drill:
    """Return the drill or raise NotFound."""
    drill = session.get(Drill, drill_id)
    if drill is None:
        raise NotFound(f"未找到演练 #{drill_id}")
    return drill


def drill_incident(session: Session, drill: Drill) -> Incident | None:
    """Return the drill incident this drill opened, linking it to the drill on first sight: its brand and
    category, detected after the crisis began."""
    if drill.incident_id is not None:
        return incident_by_id(session, drill.incident_id)
    incident = session.scalars(select(Incident).where(
        Incident.is_drill.is_(True), Incident.brand == drill.brand, Incident.category == drill.category,
        Incident.detected_at >= drill.crisis_start).order_by(Incident.id).limit(1)).first()
    if incident is not None:
        drill.incident_id = incident.id
    return incident


def due_drill_ids(session: Session, now: datetime) -> list[int]:
    """Return the ids of the running drills whose grading time has come."""
    return list(session.scalars(select(Drill.id).where(Drill.status == RUNNING, Drill.grade_at <= now)
                                .order_by(Drill.id)))


def withdraw_unpublished(session: Session, drill_id: int, source: str, now: datetime) -> int:
    """Delete the drill's posts in `source` published after `now` and not yet in an incident; return how many."""
    result = session.execute(delete(Mention).where(
        Mention.is_drill.is_(True), Mention.source == source, Mention.external_id.like(f"d{drill_id}-%"),
        Mention.published_at > now, Mention.incident_id.is_(None)))
    return result.rowcount or 0


def newest_drills(session: Session, limit: int) -> list[tuple[Drill, Incident | None]]:
    """Return the newest drills first, each with its incident (None while it has none)."""
    drills = list(session.scalars(select(Drill).order_by(Drill.id.desc()).limit(limit)))
    return [(d, incident_by_id(session, d.incident_id) if d.incident_id else None) for d in drills]
