"""SQL of compensation: batches, the ledger (unique per incident and order, and per incident and customer
slot), what is already paid."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Dialect, func, select
from sqlalchemy.orm import Session

from tasks.models import CompensationBatch, CompensationItem, Incident

ITEMS = CompensationItem.__table__
LEDGER_COLUMNS = ("batch_id", "incident_id", "order_id", "customer_id", "customer_slot", "kind", "amount_fen",
                  "points", "status", "created_at")
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


def ledger_holdings(session: Session, incident_id: int) -> tuple[set[str], set[str]]:
    """Return the order ids and the customer ids already in the ledger for the incident."""
    rows = session.execute(
        select(CompensationItem.order_id, CompensationItem.customer_id)
        .where(CompensationItem.incident_id == incident_id)
    ).all()
    return {r.order_id for r in rows}, {r.customer_id for r in rows}


def _stored(column: str, value: Any, dialect: Dialect) -> Any:
    """Return `value` as the driver receives it for `column` (e.g. SQLite's text form of a UTC time)."""
    process = ITEMS.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value


def insert_items(session: Session, items: pd.DataFrame, incident_id: int, batch_id: int,
                 now: datetime) -> int:
    """Insert ledger rows in the session's transaction; a row whose (incident, order) or (incident, customer
    slot) is already there is skipped by the database. Return how many rows were added.

    The rows go straight to the driver in the session's own transaction (one executemany on SQLite, one
    COPY on PostgreSQL): at a million rows SQLAlchemy's per-row parameter processing would cost more than
    the database itself. On PostgreSQL the foreign keys are checked once for the chunk (see
    `_check_parents_once`) instead of once per row when the role may do so.
    """
    if items.empty:
        return 0
    connection = session.connection()
    columns = {"batch_id": batch_id, "incident_id": incident_id, "status": "applied",
               "created_at": _stored("created_at", now, connection.dialect)}
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "postgresql":
            _check_parents_once(cursor, incident_id, batch_id)
            return _copy_rows(cursor, items, {**columns, "created_at": now.isoformat()})
        # Per connection: a page cache the size of a large batch's index pages, and checkpoints every
        # 400 MB of WAL rather than every 4 MB, so a million-row batch is not held up by checkpointing.
        cursor.execute("PRAGMA cache_size = -262144")
        cursor.execute("PRAGMA wal_autocheckpoint = 100000")
        varying = [c for c in LEDGER_COLUMNS if c not in columns]
        cursor.executemany(_sqlite_insert(columns), zip(*(items[c].tolist() for c in varying), strict=True))
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _check_parents_once(cursor: Any, incident_id: int, batch_id: int) -> None:
    """Do for the whole chunk what the ledger's two foreign keys do for each row, then skip the per-row checks.

    Every row of a chunk has the same incident and batch, yet PostgreSQL's foreign-key triggers look both up
    and lock them (FOR KEY SHARE) once per row: two thirds of the database's time for a COPY. Here the two
    rows are looked up and locked once, as the triggers would, and a chunk naming a missing one is refused;
    then, when the role may set it (a superuser, or PostgreSQL 15+ after `GRANT SET ON PARAMETER
    session_replication_role TO <role>`), `SET LOCAL session_replication_role = replica` turns the
    triggers off for this transaction only (the ledger has no other triggers; unique keys are indexes and
    stay enforced). Without that privilege the per-row checks simply run as well."""
    for table, key in ((Incident.__tablename__, incident_id), (CompensationBatch.__tablename__, batch_id)):
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", (key,))
        if cursor.fetchone() is None:
            raise LookupError(f"no {table} row {key}: the ledger rows would have no parent")
    may_set = ("has_parameter_privilege('session_replication_role', 'SET')"
               if cursor.connection.server_version >= 150000 else "false")
    cursor.execute(f"SELECT current_setting('is_superuser') = 'on' OR {may_set}")
    if cursor.fetchone()[0]:
        cursor.execute("SET LOCAL session_replication_role = replica")


def _sqlite_insert(constants: dict[str, Any]) -> str:
    """Return the ledger's INSERT with the batch's constants written in as literals: a million rows then bind
    six values each instead of ten (a tenth of the write's time). The constants are our own ints and strings
    (ids, status, the stored time), quoted as SQL literals."""
    def literal(value: Any) -> str:
        return str(int(value)) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"

    values = ", ".join(literal(constants[c]) if c in constants else "?" for c in LEDGER_COLUMNS)
    return f"INSERT INTO {ITEMS.name} ({', '.join(LEDGER_COLUMNS)}) VALUES ({values}) ON CONFLICT DO NOTHING"


def _copy_rows(cursor: Any, items: pd.DataFrame, constants: dict[str, Any]) -> int:
    """COPY the rows straight into the ledger. When one is already there (a chunk written again after a lost
    commit, or another run's rows), undo the COPY and insert through a table that disappears at commit,
    skipping what the ledger holds: the slow path only when it is needed."""
    varying = [c for c in LEDGER_COLUMNS if c not in constants]
    staged = items[varying].assign(**constants)[list(LEDGER_COLUMNS)]
    data = io.BytesIO()  # Arrow's CSV writer: a tenth of the time of DataFrame.to_csv, strings always quoted
    pa_csv.write_csv(pa.Table.from_pandas(staged, preserve_index=False), data,
                     pa_csv.WriteOptions(include_header=False))
    names = ", ".join(LEDGER_COLUMNS)
    copy = "COPY {} (" + names + ") FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')"
    cursor.execute("SAVEPOINT ledger_copy")
    try:
        data.seek(0)
        cursor.copy_expert(copy.format(ITEMS.name), data)
    except Exception as exc:
        if getattr(exc, "pgcode", None) != UNIQUE_VIOLATION:
            raise
        cursor.execute("ROLLBACK TO SAVEPOINT ledger_copy")
    else:
        cursor.execute("RELEASE SAVEPOINT ledger_copy")
        return len(staged)
    cursor.execute(f"CREATE TEMP TABLE ledger_stage ON COMMIT DROP AS "
                   f"SELECT {names} FROM {ITEMS.name} WITH NO DATA")
    data.seek(0)
    cursor.copy_expert(copy.format("ledger_stage"), data)
    cursor.execute(f"INSERT INTO {ITEMS.name} ({names}) "
                   f"SELECT {names} FROM ledger_stage ON CONFLICT DO NOTHING")
    return int(cursor.rowcount)


def batch_totals(session: Session, incident_id: int, batch_id: int | None) -> dict[str, int]:
    """Return what the batch actually wrote to the ledger (every batch of the incident when `batch_id` is
    None): orders, customers, fen and points."""
    query = (select(func.count(CompensationItem.id), func.count(func.distinct(CompensationItem.customer_id)),
                    func.coalesce(func.sum(CompensationItem.amount_fen), 0),
                    func.coalesce(func.sum(CompensationItem.points), 0))
             .where(CompensationItem.incident_id == incident_id))
    if batch_id is not None:
        query = query.where(CompensationItem.batch_id == batch_id)
    orders, customers, fen, points = session.execute(query).one()
    return {"orders": int(orders), "customers": int(customers), "amount_fen": int(fen), "points": int(points)}


def batch_items(session: Session, incident_id: int, batch_id: int) -> pd.DataFrame:
    """Return the ledger rows the batch wrote (order, customer, kind, fen, points)."""
    columns = ["order_id", "customer_id", "kind", "amount_fen", "points"]
    rows = session.execute(
        select(*(ITEMS.c[c] for c in columns))
        .where(CompensationItem.incident_id == incident_id, CompensationItem.batch_id == batch_id)
        .order_by(CompensationItem.id)
    ).all()
    return pd.DataFrame(rows, columns=columns)


def incident_totals(session: Session, incident_id: int) -> dict[str, tuple[int, int]]:
    """Return, per compensation kind, (orders, amount in fen) in the ledger for the incident."""
    rows = session.execute(
        select(CompensationItem.kind, func.count(CompensationItem.id), func.sum(CompensationItem.amount_fen))
        .where(CompensationItem.incident_id == incident_id)
        .group_by(CompensationItem.kind)
    ).all()
    return {kind: (int(n), int(total)) for kind, n, total in rows}


def dry_run_batches(session: Session, incident_id: int) -> int:
    """Return how many dry-run batches the incident had."""
    return int(session.scalar(select(func.count(CompensationBatch.id)).where(
        CompensationBatch.incident_id == incident_id, CompensationBatch.dry_run.is_(True))) or 0)


def new_batch(session: Session, **values: object) -> CompensationBatch:
    """Create a batch row and return it with its id."""
    batch = CompensationBatch(**values)
    session.add(batch)
    session.flush()
    return batch


def update_batch(session: Session, batch_id: int, **values: object) -> CompensationBatch:
    """Change a batch's recorded fields and return it."""
    batch = session.get(CompensationBatch, batch_id)
    if batch is None:
        raise LookupError(f"no compensation batch {batch_id}")
    for name, value in values.items():
        setattr(batch, name, value)
    session.flush()
    return batch


def waiting_batches(session: Session, incident_id: int) -> list[CompensationBatch]:
    """Return the incident's batches that wait for an approval decision, oldest first."""
    return list(session.scalars(select(CompensationBatch).where(
        CompensationBatch.incident_id == incident_id, CompensationBatch.approval == "pending",
        CompensationBatch.status == "pending_approval").order_by(CompensationBatch.id)))


def approval_of(session: Session, batch_id: int) -> str:
    """Return the batch's approval (not_required | pending | approved | rejected)."""
    return str(session.scalar(select(CompensationBatch.approval).where(CompensationBatch.id == batch_id)))


UNFINISHED = ("pending_approval", "approved", "running")


def unfinished_batches(session: Session, *, incident_id: int | None = None,
                       flow_run_id: str | None = None) -> list[CompensationBatch]:
    """Return the batches not yet applied, rejected or interrupted, of an incident or of a flow run."""
    query = select(CompensationBatch).where(CompensationBatch.status.in_(UNFINISHED))
    if incident_id is not None:
        query = query.where(CompensationBatch.incident_id == incident_id)
    if flow_run_id is not None:
        query = query.where(CompensationBatch.flow_run_id == flow_run_id)
    return list(session.scalars(query.order_by(CompensationBatch.id)))


def batches_of(session: Session, incident_id: int) -> list[CompensationBatch]:
    """Return the incident's batches, oldest first."""
    return list(session.scalars(select(CompensationBatch).where(CompensationBatch.incident_id == incident_id)
                                .order_by(CompensationBatch.id)))
