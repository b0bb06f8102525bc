"""SQL of compensation: batches, the ledger (unique per incident and order), what is already paid."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tasks.db import insert_ignoring_duplicates
from tasks.models import CompensationBatch, CompensationItem


def paid_orders_and_customers(session: Session, incident_id: int) -> tuple[set[str], set[str]]:
    """Return the order ids and customer ids already in the ledger for the incident."""
    rows = session.execute(
        select(CompensationItem.order_id, CompensationItem.customer_id).where(CompensationItem.incident_id == incident_id)
    ).all()
    return {r.order_id for r in rows}, {r.customer_id for r in rows}


def insert_items(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert ledger items; rows whose (incident, order) is already there are skipped. Return how many were added."""
    if not rows:
        return 0
    statement = insert_ignoring_duplicates(CompensationItem).returning(CompensationItem.id)
    return len(session.execute(statement, rows).all())


def batch_totals(session: Session, batch_id: int) -> tuple[int, int]:
    """Return (items, amount in fen) the batch actually wrote to the ledger."""
    count, amount = session.execute(
        select(func.count(CompensationItem.id), func.coalesce(func.sum(CompensationItem.amount_fen), 0))
        .where(CompensationItem.batch_id == batch_id)
    ).one()
    return int(count), int(amount)


def incident_totals(session: Session, incident_id: int) -> dict[str, tuple[int, int]]:
    """Return, per compensation kind, (orders, amount in fen) in the ledger for the incident."""
    rows = session.execute(
        select(CompensationItem.kind, func.count(CompensationItem.id), func.sum(CompensationItem.amount_fen))
        .where(CompensationItem.incident_id == incident_id)
        .group_by(CompensationItem.kind)
    ).all()
    return {kind: (int(n), int(total)) for kind, n, total in rows}


def new_batch(session: Session, **values: object) -> CompensationBatch:
    """Create a batch row and return it with its id."""
    batch = CompensationBatch(**values)
    session.add(batch)
    session.flush()
    return batch


def complete_batch(session: Session, batch_id: int, status: str, now: datetime, **values: object) -> CompensationBatch:
    """Record a batch's outcome."""
    batch = session.get(CompensationBatch, batch_id)
    assert batch is not None
    for name, value in values.items():
        setattr(batch, name, value)
    batch.status = status
    batch.completed_at = now
    return batch
