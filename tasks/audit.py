"""The one way to record a state change: an append-only, hash-chained audit log.

hash = sha256(prev_hash + canonical entry), where the canonical entry is the JSON of
(seq, at, actor, action, entity_type, entity_id, before, after) with sorted keys.
Writers are serialised (a transaction-scoped advisory lock on PostgreSQL, BEGIN IMMEDIATE on
SQLite) and `seq` is the primary key, so the chain can never fork.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tasks.models import AuditEntry

GENESIS = "0" * 64
_ADVISORY_LOCK = 0x6372697369  # "crisi"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical(entry: AuditEntry) -> str:
    """Return the canonical text of an entry that its hash covers."""
    return _dumps(
        {
            "seq": entry.seq,
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "entity_type": entry.entity_type,
            "entity_id": entry.entity_id,
            "before": entry.before,
            "after": entry.after,
        }
    )


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """Return sha256(prev_hash + canonical entry) as hex."""
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    at: datetime,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the change)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS)
    entry = AuditEntry(
        seq=seq,
        at=at.astimezone(UTC),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=_dumps(before or {}),
        after=_dumps(after or {}),
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(prev_hash, entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def _entries(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session) -> ChainReport:
    """Walk the whole chain and report the first entry that does not verify."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for entry in _entries(session):
        if entry.seq != expected_seq:
            return ChainReport(checked, expected_seq, f"entry #{expected_seq} is missing")
        if entry.prev_hash != prev_hash:
            return ChainReport(checked, entry.seq, "prev_hash does not match the entry before it")
        if entry_hash(prev_hash, entry) != entry.hash:
            return ChainReport(
                checked, entry.seq, f"content changed ({entry.action} on {entry.entity_type} {entry.entity_id})"
            )
        prev_hash, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    return ChainReport(checked)


def entries_for(session: Session, entity_type: str, entity_id: str) -> list[AuditEntry]:
    """Return one entity's entries in order (the incident timeline)."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.seq)
        )
    )


def flow_actor() -> str:
    """Return the acting Prefect flow run as 'flow-run:<id>', or 'crisis-cli' outside a run."""
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return f"flow-run:{run_id}" if run_id else "crisis-cli"
