"""Publish the audit chain's head outside the database: an append-only JSONL anchor file.

Each line is {"seq", "hash", "at"}: the chain's head when a scan or a review ran. Someone who can
write the database but not this file cannot delete the newest entries (the head falls behind an
anchor) nor rewrite the chain (an anchored entry's hash changes) without `crisis audit verify`
saying so. Publishing the same head twice writes nothing.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from prefect import get_run_logger, task

from config.settings import get_settings
from tasks import audit
from tasks.db import session_scope
from tasks.errors import AuditChainBroken

KEY_SEALED = "audit.key_sealed"


def anchor_path() -> Path:
    """Return the anchor file (settings `audit.anchor_file`, relative to var_dir unless absolute)."""
    settings = get_settings()
    return settings.var_path / settings.audit.anchor_file


def read_anchors(path: Path) -> list[audit.Anchor]:
    """Read every anchor of the file (none when it does not exist); a bad line is named."""
    if not path.exists():
        return []
    anchors = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            anchors.append(audit.Anchor(int(item["seq"]), str(item["hash"]), f"{path.name} 第 {number} 行"))
        except (ValueError, KeyError, TypeError):
            raise AuditChainBroken(f"{path} 第 {number} 行不是锚点（需要 seq 和 hash 的 JSON）") from None
    return anchors


def parse_anchor(text: str) -> audit.Anchor:
    """Read a head given by hand as SEQ:HASH (e.g. copied from a review mail)."""
    seq, _, digest = text.partition(":")
    if not seq.strip().isdigit() or len(digest.strip()) != 64:
        raise AuditChainBroken(f"--anchor {text!r} 不是 SEQ:HASH（如 42:3f9a…，哈希 64 位十六进制）")
    return audit.Anchor(int(seq), digest.strip().lower(), f"--anchor {seq.strip()}")


def _last_anchor(handle: IO[bytes], path: Path) -> tuple[int, str] | None:
    """Return the last line's (seq, hash), reading only the file's tail."""
    size = handle.seek(0, 2)
    handle.seek(max(0, size - 4096))
    lines = [line for line in handle.read().splitlines() if line.strip()]
    if not lines:
        return None
    try:
        item = json.loads(lines[-1])
        return int(item["seq"]), str(item["hash"])
    except (ValueError, KeyError, TypeError):
        raise AuditChainBroken(f"{path} 的最后一行不是锚点（需要 seq 和 hash 的 JSON）") from None


@contextmanager
def _locked(path: Path) -> Iterator[IO[bytes]]:
    """Open the anchor file for appending, exclusively (two runs publishing at once write one line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def seal_legacy_head(now: datetime) -> None:
    """With a key and a head written before it (a plain hash), record `audit.key_sealed`: a keyed
    entry that seals every entry before it. Nothing to do without a key or on a keyed head."""
    if audit.current_key() is None:
        return
    with session_scope() as session:
        top = audit.head(session)
        if top is not None and not audit.is_keyed(top):
            audit.record(session, actor=audit.flow_actor(), action=KEY_SEALED, entity_type="audit",
                         entity_id="chain", at=now, after={"sealed_through": top.seq})


def publish_head(now: datetime) -> dict[str, object]:
    """Append the chain's head to the anchor file unless it is already the last line.

    Refuses (AuditChainBroken, nothing written) when the database contradicts the last anchor:
    its head is behind it or the anchored entry's hash changed.
    """
    seal_legacy_head(now)
    path = anchor_path()
    with _locked(path) as handle, session_scope() as session:
        last, top = _last_anchor(handle, path), audit.head(session)
        seq, digest = (top.seq, top.hash) if top is not None else (0, audit.GENESIS)
        if last is not None and audit.hash_at(session, last[0]) != last[1]:
            raise AuditChainBroken(f"审计链与 {path} 的最后一个锚点 #{last[0]} 不符（被截断或改写）："
                                   "未发布新锚点；运行 crisis audit verify 查看")
        if top is None or last == (seq, digest):
            return {"seq": seq, "hash": digest, "published": False}
        line = json.dumps({"seq": seq, "hash": digest, "at": now.astimezone(UTC).isoformat()}) + "\n"
        handle.write(line.encode("ascii"))
        handle.flush()
    return {"seq": seq, "hash": digest, "published": True}


@task(task_run_name="publish-audit-head")
def publish_audit_head(now: datetime) -> dict[str, object]:
    """Publish the audit chain's head (seq, hash) to the anchor file outside the database.
    Safe to re-run: the same head adds no line."""
    head = publish_head(now)
    verb = "已发布到" if head["published"] else "此前已发布在"
    get_run_logger().info("审计链头 #%s（哈希 %s）%s锚点文件 %s", head["seq"], head["hash"], verb, anchor_path())
    return head
