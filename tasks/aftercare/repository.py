"""SQL of after-action and review: reputation-repair steps (set one, audited; list them), recovery checks,
the sources that feed a brand, the mentions behind the review's curve."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tasks import audit
from tasks.aftercare.repair import STEPS, StepState, StepView
from tasks.db import insert_ignoring_duplicates
from tasks.errors import CrisisError
from tasks.models import AuditEntry, Incident, Mention, RecoveryCheck, RepairStep, names_brand


class StepInvalid(CrisisError):
    """A repair step or its state is not one the plan knows."""


def set_step(session: Session, incident: Incident, step: str, *, actor: str, at: datetime, state: str | None = None,
             owner: str | None = None, due_at: datetime | None = None, evidence: str | None = None) -> RepairStep:
    """Create or update one step of the incident (audited); unknown steps or states are refused."""
    if step not in STEPS:
        raise StepInvalid(f"未知的修复步骤 {step!r}（可选：{'、'.join(STEPS)}）")
    if state is not None and state not in StepState.__members__.values():
        raise StepInvalid(f"未知的步骤状态 {state!r}（可选：{'、'.join(s.value for s in StepState)}）")
    row = session.scalars(select(RepairStep).where(RepairStep.incident_id == incident.id,
                                                   RepairStep.step == step)).first()
    before = _view(row) if row else {}
    if row is None:
        row = RepairStep(incident_id=incident.id, step=step, state=StepState.TODO.value, updated_at=at)
        session.add(row)
    for name, value in (("state", state), ("owner", owner), ("due_at", due_at), ("evidence", evidence)):
        if value is not None:
            setattr(row, name, value)
    row.updated_at = at
    session.flush()
    audit.record(session, actor=actor, action="repair.step_updated", entity_type="incident", entity_id=incident.key,
                 at=at, before=before, after={"step": step, "name": STEPS[step], **_view(row)})
    return row


def _view(row: RepairStep) -> dict[str, object]:
    return {"state": row.state, "owner": row.owner, "due_at": row.due_at, "evidence": row.evidence}


def list_steps(session: Session, incident_id: int) -> list[StepView]:
    """Return the incident's steps in the plan's order."""
    rows = {r.step: r for r in session.scalars(select(RepairStep).where(RepairStep.incident_id == incident_id))}
    return [StepView(step, rows[step].owner, rows[step].due_at, rows[step].state, rows[step].evidence)
            for step in STEPS if step in rows]


def step_states(session: Session, incident_id: int) -> dict[str, str]:
    """Return the state of each step recorded for the incident, steps the plan no longer knows included."""
    return dict(session.execute(select(RepairStep.step, RepairStep.state).where(
        RepairStep.incident_id == incident_id)).tuples().all())


def record_check(session: Session, incident_id: int, window_end: datetime, outcome: str, reason: str) -> None:
    """Store a recovery check of one window; a window already checked keeps its first result."""
    session.execute(insert_ignoring_duplicates(RecoveryCheck), [
        {"incident_id": incident_id, "window_end": window_end, "outcome": outcome, "reason": reason}])


def outcomes_since(session: Session, incident_id: int, since: datetime, until: datetime) -> list[str]:
    """Return the outcomes of the incident's recovery checks of windows ending in [since, until], oldest first:
    a check as of `until` does not see checks of later windows (a backfilled or replayed check runs after them)."""
    return list(session.scalars(select(RecoveryCheck.outcome).where(
        RecoveryCheck.incident_id == incident_id, RecoveryCheck.window_end >= since,
        RecoveryCheck.window_end <= until).order_by(RecoveryCheck.window_end)))


def outcome_counts(session: Session, incident_id: int) -> dict[str, int]:
    """Return how many of the incident's recovery checks came to each outcome."""
    return dict(session.execute(select(RecoveryCheck.outcome, func.count(RecoveryCheck.id)).where(
        RecoveryCheck.incident_id == incident_id).group_by(RecoveryCheck.outcome)).tuples().all())


def feeding_sources(session: Session, brand: str, drill: bool, start: datetime, stop: datetime) -> list[str]:
    """Return the sources that brought mentions of the brand (a drill's, when `drill`) published in [start, stop)."""
    return sorted(session.scalars(select(Mention.source).distinct().where(
        names_brand(brand), Mention.is_drill.is_(drill), Mention.published_at >= start,
        Mention.published_at < stop)))


def last_check(session: Session, incident_id: int) -> RecoveryCheck | None:
    """Return the incident's most recent recovery check."""
    return session.scalars(select(RecoveryCheck).where(RecoveryCheck.incident_id == incident_id)
                           .order_by(RecoveryCheck.window_end.desc()).limit(1)).first()


def mention_times(session: Session, brand: str, drill: bool, start: datetime,
                  stop: datetime) -> list[tuple[datetime, bool]]:
    """Return (published at, negative) of the brand's mentions (a drill's, when `drill`) in [start, stop)."""
    return list(session.execute(select(Mention.published_at, Mention.negative).where(
        names_brand(brand), Mention.is_drill.is_(drill), Mention.published_at >= start,
        Mention.published_at < stop)).tuples())


def audited_once(session: Session, incident_key: str, action: str) -> bool:
    """Tell whether the incident's audit trail already holds `action`."""
    return session.scalar(select(AuditEntry.seq).where(
        AuditEntry.entity_type == "incident", AuditEntry.entity_id == incident_key,
        AuditEntry.action == action).limit(1)) is not None
