"""SQL of a replay: what its throwaway database holds once the scans are done."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.models import Incident
from tasks.replay.plan import Opened


def opened_incidents(session: Session) -> list[Opened]:
    """Return every real (not drill) incident, first detected first."""
    incidents = session.scalars(select(Incident).where(Incident.is_drill.is_(False))
                                .order_by(Incident.detected_at, Incident.id))
    return [Opened(key=i.key, brand=i.brand, category=i.category, level=str(i.level), detected_at=i.detected_at,
                   possible_rumour=bool(i.possible_rumour), trigger_reason=i.trigger_reason) for i in incidents]
