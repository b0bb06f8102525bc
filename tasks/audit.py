"""The one way to record a state change: an append-only, hash-chained audit log.

hash = HMAC-SHA256(key, prev_hash + canonical entry) when an audit key is configured (CRISIS_AUDIT__KEY
or a Prefect Secret block; never stored in the database), else sha256(prev_hash + canonical entry). The
canonical entry is the JSON of (seq, at, actor, action, entity_type, entity_id, before, after) with
sorted keys. Entries written before the key was configured keep their plain hash; the first keyed entry
seals them, and a plain hash after it is a forgery. The head (seq, hash) is also published outside the
database (tasks/audit_anchor.py), so truncation shows too.
Writers are serialised (a transaction-scoped advisory lock on PostgreSQL, BEGIN IMMEDIATE on
SQLite) and `seq` is the primary key, so the chain can never fork.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import get_settings
from tasks.db import hold_lock
from tasks.errors import AuditChainBroken
from tasks.models import AuditEntry
from tasks.secrets import audit_key

GENESIS = "0" * 64
_ADVISORY_LOCK = 0x6372697369  # "crisi"
_MAX_PROBLEMS = 20


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


def entry_hash(prev_hash: str, entry: AuditEntry, key: bytes | None = None) -> str:
    """Return HMAC-SHA256(key, prev_hash + canonical entry) as hex, or plain sha256 without a key."""
    message = (prev_hash + canonical(entry)).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def current_key() -> bytes | None:
    """Return the configured audit key (read at run time; None on a key-less installation)."""
    return audit_key(get_settings().audit)


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
    """Append one entry in the caller's transaction (it commits or rolls back with the change).

    Without a key it refuses to extend a chain whose head is keyed: a plain entry there would read
    as a forgery once the key is back.
    """
    key = current_key()
    hold_lock(session, _ADVISORY_LOCK)
    last = head(session)
    if last is not None and key is None and entry_hash(last.prev_hash, last) != last.hash:
        raise AuditChainBroken(f"审计链头 #{last.seq} 不是普通 SHA-256：链已用审计密钥签名（或被改动），"
                               "未配置 CRISIS_AUDIT__KEY 时拒绝续写")
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
    entry.hash = entry_hash(prev_hash, entry, key)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Anchor:
    """A head (seq, hash) published outside the database; `source` says where it was read."""

    seq: int
    hash: str
    source: str


@dataclass
class ChainReport:
    """What a walk of the chain found: entries read, the head, and one line per problem (by seq)."""

    checked: int = 0
    head: tuple[int, str] | None = None
    legacy: int = 0  # plain entries written before the key, sealed by a keyed one
    problems: list[tuple[int, str]] = field(default_factory=list)
    more_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def broken_seq(self) -> int | None:
        return self.problems[0][0] if self.problems else None

    def add(self, seq: int, reason: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append((seq, reason))
        else:
            self.more_problems += 1


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


def _inert(text: str) -> str:
    """Show stored text as it is, control characters as escapes (a terminal must not act on them)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _check_hash(report: ChainReport, entry: AuditEntry, key: bytes | None, sealed: bool) -> bool:
    """Check one entry's own hash; return True when it is keyed (it seals every entry before it)."""
    if key is not None and hmac.compare_digest(entry_hash(entry.prev_hash, entry, key), entry.hash):
        return True
    if entry_hash(entry.prev_hash, entry) != entry.hash:
        changed = _inert(f"{entry.action} / {entry.entity_type} {entry.entity_id}")
        report.add(entry.seq, f"条目 #{entry.seq} 的内容与哈希不符（{changed}）：被改动"
                   + ("" if key else "，或它由审计密钥签名而本机未配置 CRISIS_AUDIT__KEY"))
    elif sealed:
        report.add(entry.seq, f"条目 #{entry.seq} 的哈希是不带密钥的 SHA-256，而此前的条目已用密钥签名："
                   "由不持有审计密钥的人写入（伪造）")
    else:
        report.legacy += 1
    return False


def _check_anchors(report: ChainReport, anchors: dict[int, Anchor], hashes: dict[int, str]) -> None:
    head_seq = report.head[0] if report.head else 0
    beyond = [a for a in anchors.values() if a.seq > head_seq]
    if beyond:
        top = max(beyond, key=lambda a: a.seq)
        report.add(top.seq, f"截断：锚点（{top.source}）记录链头已到 #{top.seq}，数据库只到 #{head_seq}"
                   f"（#{head_seq + 1} 至 #{top.seq} 被删除）")
    for anchor in sorted(anchors.values(), key=lambda a: a.seq):
        stored = hashes.get(anchor.seq)
        if stored is not None and stored != anchor.hash:
            report.add(anchor.seq, f"条目 #{anchor.seq} 的哈希与锚点（{anchor.source}）不符：此条或之前的链被改写或替换")


def verify_chain(session: Session, anchors: list[Anchor] | None = None) -> ChainReport:
    """Walk the whole chain (with the configured key, if any) and compare it with the published anchors.

    Reports one problem per entry that is missing, unlinked, changed or forged, and per anchor the
    database contradicts (truncated below it, or a different hash at its seq).
    """
    key, report, pinned = current_key(), ChainReport(), {a.seq: a for a in anchors or []}
    hashes: dict[int, str] = {}
    prev_hash, expected_seq, sealed = GENESIS, 1, False
    for entry in _entries(session):
        if entry.seq != expected_seq:
            missing = f"#{expected_seq}" + (f" 至 #{entry.seq - 1}" if entry.seq - 1 > expected_seq else "")
            report.add(expected_seq, f"条目 {missing} 缺失")
        elif entry.prev_hash != prev_hash:
            report.add(entry.seq, f"条目 #{entry.seq} 的 prev_hash 与前一条不符")
        sealed = _check_hash(report, entry, key, sealed) or sealed
        if entry.seq in pinned:
            hashes[entry.seq] = entry.hash
        prev_hash, expected_seq = entry.hash, entry.seq + 1
        report.checked += 1
        report.head = (entry.seq, entry.hash)
    if key is not None and report.head is not None and not sealed:
        report.add(report.head[0], f"链头 #{report.head[0]} 尚未用审计密钥签名：下一次扫描发布锚点时会封存此前的条目")
    _check_anchors(report, pinned, hashes)
    return report


def head(session: Session) -> AuditEntry | None:
    """Return the newest entry (the chain's head), or None on an empty chain."""
    return session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()


def is_keyed(entry: AuditEntry) -> bool:
    """Return True when the entry's hash is the HMAC of the configured key."""
    key = current_key()
    return key is not None and hmac.compare_digest(entry_hash(entry.prev_hash, entry, key), entry.hash)


def head_note(session: Session) -> str:
    """Return the Markdown that states the chain's head (it travels off-host, e.g. with the review)."""
    top = head(session)
    if top is None:
        return ""
    return (f"\n\n---\n\n审计链头：#{top.seq} `{top.hash}`"
            f"（核对：`crisis audit verify --anchor {top.seq}:{top.hash}`）\n")


def hash_at(session: Session, seq: int) -> str | None:
    """Return the stored hash of entry `seq`, or None when there is no such entry."""
    return session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq))


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
