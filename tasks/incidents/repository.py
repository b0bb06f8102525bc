"""SQL of the incident: find it by key (locked or not), list it, find the active one of a brand and
category, give out keys, and the queries every stage asks about an incident (top posts, linked mentions,
latest and peak metric)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from tasks.db import prepared, read_rows
from tasks.errors import NotFound
from tasks.incidents.state import ACTIVE_STATES, IncidentState
from tasks.models import DetectionHit, Incident, IncidentMetric, Mention, names_brand

HANDLED_STATES = (IncidentState.ACKNOWLEDGED, IncidentState.RESPONDING, IncidentState.MONITORING)


def add_incident(session: Session, **values: object) -> Incident:
    """Insert an incident and return it with its id."""
    incident = Incident(**values)
    session.add(incident)
    session.flush()
    return incident


def get_incident(session: Session, key: str) -> Incident:
    """Return the incident with this key or raise NotFound."""
    incident = session.scalars(select(Incident).where(Incident.key == key)).first()
    if incident is None:
        raise NotFound(f"未找到事件 {key}")
    return incident


def locked_incident(session: Session, key: str) -> Incident:
    """Return the incident, its row locked until the transaction ends (PostgreSQL), or raise NotFound."""
    incident = session.scalars(select(Incident).where(Incident.key == key).with_for_update()).first()
    if incident is None:
        raise NotFound(f"未找到事件 {key}")
    return incident


def list_incidents(session: Session, limit: int = 50) -> list[Incident]:
    """Return the newest incidents first."""
    return list(session.scalars(select(Incident).order_by(Incident.id.desc()).limit(limit)))


def incidents_detected_since(session: Session, start: datetime) -> list[Incident]:
    """Return the incidents detected at or after `start`, oldest first."""
    return list(session.scalars(select(Incident).where(Incident.detected_at >= start).order_by(Incident.id)))


def keys_in_state(session: Session, state: IncidentState) -> list[str]:
    """Return the keys of the incidents in `state`, oldest first."""
    return list(session.scalars(select(Incident.key).where(Incident.state == state).order_by(Incident.id)))


def active_by_group(session: Session, drill: bool = False) -> dict[tuple[str, str], Incident]:
    """Return per brand and category the incident still being handled (the newest, if several; a drill's when
    `drill`): one query for a whole scan instead of one per group."""
    return {(i.brand, i.category): i for i in session.scalars(prepared(("active_by_group", drill), lambda: select(
        Incident).where(Incident.is_drill.is_(drill), Incident.state.in_(ACTIVE_STATES)).order_by(Incident.id)))}


def active_incidents(session: Session) -> list[Incident]:
    """Return every incident still being handled."""
    return list(session.scalars(prepared("active_incidents", lambda: select(Incident).where(
        Incident.state.in_(ACTIVE_STATES)).order_by(Incident.id))))


def handled_incidents(session: Session, key: str | None = None) -> list[Incident]:
    """Return alerted incidents someone is handling (acknowledged, responding, monitoring)."""
    query = select(Incident).where(Incident.state.in_(HANDLED_STATES), Incident.alerted_at.is_not(None))
    if key is not None:
        query = query.where(Incident.key == key)
    return list(session.scalars(query.order_by(Incident.id)))


def next_incident_key(session: Session, day: str, drill: bool = False) -> str:
    """Return the next free key of the day, INC-YYYYMMDD-NNN (a drill's: DRILL-YYYYMMDD-NNN)."""
    prefix = f"{'DRILL' if drill else 'INC'}-{day}-"
    last = session.scalar(select(func.max(Incident.key)).where(Incident.key.like(prefix + "%")))
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:03d}"


def unannounced(session: Session) -> list[Incident]:
    """Return incidents whose opening or latest level has not been announced as an event."""
    return list(
        session.scalars(
            select(Incident)
            .where((Incident.announced_level.is_(None)) | (Incident.announced_level != Incident.level))
            .order_by(Incident.id)
        )
    )


def escalation_candidates(session: Session, below_tier: int, key: str | None = None) -> list[str]:
    """Return keys of open, alerted incidents that have not reached the last tier (one key, if given)."""
    query = select(Incident.key).where(
        Incident.state == IncidentState.OPEN, Incident.alerted_at.is_not(None),
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
               Incident.state == IncidentState.OPEN)
        .values(escalation_tier=target)
    )
    return result.rowcount == 1


def top_posts(session: Session, incident_id: int, limit: int = 5) -> list[Mention]:
    """Return the incident's widest-reaching mentions."""
    return list(session.scalars(prepared(("top_posts", limit), lambda: select(Mention).where(
        Mention.incident_id == bindparam("incident")).order_by(Mention.reach.desc(), Mention.id).limit(limit)),
        {"incident": incident_id}))


def latest_metric(session: Session, incident_id: int) -> IncidentMetric | None:
    """Return the incident's most recent window of metrics."""
    return session.scalars(
        select(IncidentMetric).where(IncidentMetric.incident_id == incident_id)
        .order_by(IncidentMetric.window_end.desc()).limit(1)
    ).first()


def peak_metric(session: Session, incident_id: int) -> IncidentMetric | None:
    """Return the incident's window with the most negative mentions."""
    return session.scalars(
        select(IncidentMetric).where(IncidentMetric.incident_id == incident_id)
        .order_by(IncidentMetric.negative.desc()).limit(1)
    ).first()


def linked_mentions(session: Session, incident_id: int) -> tuple[int, int]:
    """Return how many mentions are linked to the incident and their total reach."""
    count, reach = session.execute(select(func.count(Mention.id), func.coalesce(func.sum(Mention.reach), 0))
                                   .where(Mention.incident_id == incident_id)).one()
    return int(count), int(reach)


def incident_by_id(session: Session, incident_id: int) -> Incident | None:
    """Return the incident with this id, if there is one."""
    return session.get(Incident, incident_id)


def last_incident_id(session: Session) -> int:
    """Return the highest incident id so far (0 before the first)."""
    return int(session.scalar(select(func.max(Incident.id))) or 0)


def first_incident_of(session: Session, brand: str, after_id: int) -> Incident | None:
    """Return the brand's first incident opened after the incident `after_id`."""
    return session.scalars(
        select(Incident).where(Incident.brand == brand, Incident.id > after_id).order_by(Incident.id).limit(1)
    ).first()


def closed_keys(session: Session, keys: Collection[str]) -> list[str]:
    """Return those of `keys` whose incident is closed."""
    return list(session.scalars(select(Incident.key).where(Incident.key.in_(keys),
                                                           Incident.state == IncidentState.CLOSED)))


def earliest_posts(session: Session, incident_id: int, limit: int = 5) -> list[Mention]:
    """Return the incident's first mentions (its origin), oldest first."""
    return list(session.scalars(prepared(("earliest_posts", limit), lambda: select(Mention).where(
        Mention.incident_id == bindparam("incident")).order_by(Mention.published_at, Mention.id).limit(limit)),
        {"incident": incident_id}))


def debunk_flags(session: Session, brand: str, since: datetime, until: datetime, drill: bool) -> list[bool]:
    """Return whether each mention of the brand in [since, until) debunks (the drill source's when `drill`),
    oldest first: a debunking post need not be negative or linked to the incident. Only the flags: this runs
    for every active incident at every scan."""
    flags = prepared(("debunk_flags", brand, drill), lambda: select(Mention.debunk).where(
        names_brand(brand), Mention.is_drill.is_(drill), Mention.published_at >= bindparam("since"),
        Mention.published_at < bindparam("until")).order_by(Mention.published_at, Mention.id))
    return [bool(debunk) for debunk in read_rows(session, flags, {"since": since, "until": until}).scalars().all()]


def fired_rules(session: Session, incident_id: int) -> list[str]:
    """Return the detection rules enforced for the incident (what opened or fed it), in name order."""
    return list(session.scalars(
        select(DetectionHit.rule).where(DetectionHit.incident_id == incident_id, DetectionHit.mode == "enforce")
        .distinct().order_by(DetectionHit.rule)
    ))
