"""Batches whose run died (killed, crashed, failed, timed out waiting for approval): each is marked
`interrupted` with what the ledger really holds for it, instead of staying `running` with 0 paid."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.cache_policies import NONE as NO_CACHE

from tasks import audit
from tasks.common import resolve_now
from tasks.compensation import repository
from tasks.db import session_scope
from tasks.incidents.repository import get_incident
from tasks.models import CompensationBatch, Incident

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _mark(session: Session, batch: CompensationBatch, incident_key: str, why: str, at: datetime) -> None:
    totals = repository.batch_totals(session, batch.incident_id, batch.id)
    was = batch.status
    repository.update_batch(session, batch.id, status="interrupted", applied_count=totals["orders"],
                            customer_count=totals["customers"], amount_fen=totals["amount_fen"],
                            points=totals["points"], completed_at=at)
    audit.record(session, actor=audit.flow_actor(), action="compensation.batch_interrupted",
                 entity_type="incident", entity_id=incident_key, at=at,
                 after={"batch": batch.id, "was": was, "why": why, "flow_run": batch.flow_run_id or "",
                        "applied_orders": totals["orders"], **totals})


@task(task_run_name="settle-interrupted-{incident_key}", cache_policy=NO_CACHE)
def settle_interrupted_batches(incident_key: str, own_run_id: str | None, now: datetime | None) -> list[int]:
    """Mark the incident's unfinished batches of other runs `interrupted`, with what each wrote; return them.

    Called only while holding the incident's slot `compensate-<KEY>`: no other run of the incident is alive
    then, so an unfinished batch of another run is one whose run died (a batch written outside any run has
    no run id and is left alone). Safe to re-run: an interrupted batch is not unfinished."""
    at = resolve_now(now)
    with session_scope() as session:
        incident = get_incident(session, incident_key)
        orphans = [b for b in repository.unfinished_batches(session, incident_id=incident.id)
                   if b.flow_run_id and b.flow_run_id != own_run_id]
        for batch in orphans:
            _mark(session, batch, incident_key, "its run ended without finishing (killed or crashed)", at)
        marked = [b.id for b in orphans]
    if marked:
        get_run_logger().warning("%s：批次 %s 所在的运行已中止，按其已写入的赔付标记为「已中断」",
                                 incident_key, "、".join(map(str, marked)))
    return marked


def mark_run_interrupted(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow hook (on crash or failure): mark the run's own unfinished batches `interrupted`."""
    with session_scope() as session:
        for batch in repository.unfinished_batches(session, flow_run_id=str(flow_run.id)):
            incident = session.get(Incident, batch.incident_id)
            _mark(session, batch, incident.key if incident else "", f"its run ended {state.type.value}",
                  resolve_now(None))
