"""The audit trail against someone who can write the database but holds neither the key nor the anchor
file: truncation, a forged entry with a correct plain hash, a rewritten history. The chain is keyed
(HMAC) and its head is published outside the database by every scan and every review."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging import disable_run_logger
from prefect.logging.handlers import APILogHandler
from sqlalchemy import select, text
from typer.testing import CliRunner

from cli.app import app
from config.files import clear_caches
from flows.monitor import scan
from flows.review import review
from tasks.audit import canonical, record
from tasks.audit_anchor import anchor_path, publish_audit_head
from tasks.db import session_scope
from tasks.errors import AuditChainBroken
from tasks.models import AuditEntry
from tests.helpers import read_mail, text_part, wait_for
from tests.prefect_server import prefect_server
from tests.tasks.test_audit import _tamper
from tests.tasks.test_triage import END, add_mentions, chatter, triage

KEY = "k3y-审计-0123456789-never-at-rest"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture(scope="module")
def prefect(tmp_path_factory: pytest.TempPathFactory, prefect_database: Path) -> Iterator[None]:
    """A temporary Prefect server for the tests that run a flow (started once for this module)."""
    with prefect_server(tmp_path_factory.mktemp("prefect-server"), prefect_database):
        yield


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, var_dir: Path) -> str:
    monkeypatch.setenv("CRISIS_AUDIT__KEY", KEY)
    clear_caches()
    return KEY


def _write(n: int, first: int = 0) -> None:
    with session_scope() as session:
        for i in range(first, first + n):
            record(session, actor="张伟", action="incident.acknowledged", entity_type="incident",
                   entity_id=f"INC-20261120-{i:03d}", at=T0 + timedelta(minutes=i),
                   before={"state": "open"}, after={"state": "acknowledged", "note": f"第 {i} 条"})


def _publish(at: datetime = T0 + timedelta(hours=1)) -> dict[str, object]:
    with disable_run_logger():
        return publish_audit_head.fn(at)


def _entries() -> list[AuditEntry]:
    with session_scope() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def _anchors() -> list[dict[str, object]]:
    return [json.loads(line) for line in anchor_path().read_text(encoding="utf-8").splitlines()]


def _plain(prev_hash: str, entry: AuditEntry) -> str:
    """The hash an intruder computes: the documented sha256 chain, without the key."""
    return hashlib.sha256((prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


def _verify(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", *args])
    return result.exit_code, result.output


def test_deleting_the_last_entries_after_an_anchor_is_named_as_truncation(database: str, keyed: str) -> None:
    _write(5)
    assert _publish()["published"] is True
    anchored = _anchors()
    _tamper("DELETE FROM audit_log WHERE seq > 3")
    code, output = _verify()
    assert code == 1, output
    assert "截断" in output and "#5" in output and "数据库只到 #3" in output
    with pytest.raises(AuditChainBroken, match="#5"):
        _publish(T0 + timedelta(hours=2))
    assert _anchors() == anchored, "a truncated head is never published over the anchor"


def test_a_forged_entry_with_a_correct_plain_hash_is_named(sqlite_db: str, keyed: str) -> None:
    _write(5)
    head = _entries()[-1]
    forged = AuditEntry(seq=6, at=T0 + timedelta(hours=1), actor="李娜", action="compensation.approved",
                        entity_type="batch", entity_id="INC-20261120-000/1", before="{}",
                        after='{"amount_fen":99900000}', prev_hash=head.hash)
    forged.hash = _plain(head.hash, forged)
    with session_scope() as session:  # an INSERT straight into the table, past record()
        session.add(forged)
    code, output = _verify()
    assert code == 1, output
    assert "条目 #6" in output and "伪造" in output
    assert "#5" not in output.replace("#6", ""), "only the forged entry is named"


def test_a_rewritten_history_with_recomputed_plain_hashes_is_named(sqlite_db: str, keyed: str) -> None:
    _write(5)
    _publish()
    entries = _entries()
    prev = entries[0].hash
    for entry in entries[1:]:
        if entry.seq == 2:
            entry.after = '{"note":"从未确认","state":"acknowledged"}'
        entry.prev_hash, entry.hash = prev, _plain(prev, entry)
        _tamper("UPDATE audit_log SET after = :after, prev_hash = :prev, hash = :hash WHERE seq = :seq",
                after=entry.after, prev=entry.prev_hash, hash=entry.hash, seq=entry.seq)
        prev = entry.hash
    code, output = _verify()
    assert code == 1, output
    lines = output.splitlines()
    assert any("条目 #2 " in line and "伪造" in line for line in lines), output
    assert any("条目 #5 的哈希与锚点（anchors.jsonl 第 1 行）不符" in line for line in lines), output


def test_an_untouched_keyed_chain_passes_with_count_and_head(sqlite_db: str, keyed: str) -> None:
    _write(5)
    _publish()
    entries = _entries()
    assert all(e.hash != _plain(e.prev_hash, e) for e in entries), "every entry carries the HMAC"
    code, output = _verify()
    assert code == 0, output
    assert output.strip() == f"审计链完整：5 条已验证，链头 #5 {entries[-1].hash}，与 1 个已发布的锚点一致"


def test_without_a_key_verify_says_it_cannot_detect_forgery_and_still_checks_the_chain(sqlite_db: str) -> None:
    _write(5)
    _publish()
    code, output = _verify()
    assert code == 0, output
    assert "未配置审计密钥" in output and "无法发现伪造" in output and "审计链完整：5 条已验证" in output
    _tamper("UPDATE audit_log SET actor = '王芳' WHERE seq = 3")
    code, output = _verify()
    assert code == 1 and "条目 #3 的内容与哈希不符" in output and "无法发现伪造" in output


def test_entries_written_before_the_key_are_sealed_and_a_keyless_writer_is_refused(
    sqlite_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(3)
    monkeypatch.setenv("CRISIS_AUDIT__KEY", KEY)
    clear_caches()
    code, output = _verify()
    assert code == 1 and "链头 #3 尚未用审计密钥签名" in output
    assert _publish()["seq"] == 4, "the first publish with a key seals the plain entries with a keyed one"
    assert _entries()[-1].action == "audit.key_sealed"
    code, output = _verify()
    assert code == 0 and "审计链完整：4 条已验证（其中 3 条写于配置密钥之前，已封存）" in output

    monkeypatch.delenv("CRISIS_AUDIT__KEY")
    clear_caches()
    with pytest.raises(AuditChainBroken, match="CRISIS_AUDIT__KEY"):
        _write(1, first=9)
    assert len(_entries()) == 4, "a worker without the key writes nothing that would read as a forgery"


def test_a_head_from_the_review_mail_detects_truncation_when_the_anchor_file_is_gone(
    sqlite_db: str, keyed: str
) -> None:
    _write(4)
    head = _entries()[-1]
    anchor_path().unlink(missing_ok=True)
    _tamper("DELETE FROM audit_log WHERE seq = 4")
    code, output = _verify()
    assert code == 0 and "尚无已发布的锚点" in output, "without anchors the deletion cannot show"
    code, output = _verify("--anchor", f"4:{head.hash}")
    assert code == 1 and "截断：锚点（--anchor 4）记录链头已到 #4，数据库只到 #3" in output, output


def _run_logs(flow_run_id: object) -> str:
    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    return "\n".join(log.message for log in logs)


def test_the_key_never_appears_in_the_database_the_anchor_file_or_the_logs(
    sqlite_db: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch, prefect: None
) -> None:
    _write(3)
    monkeypatch.setenv("CRISIS_AUDIT__KEY", KEY)
    clear_caches()
    state = scan(now=END, return_state=True)
    # the server stores logs a moment after it takes them: wait for the line, then read them all
    def logged() -> str:
        text = _run_logs(state.state_details.flow_run_id)
        return text if "审计链头 #4" in text else ""

    logs = wait_for(logged, "the scan's log line about the audit head")
    _, output = _verify()
    secret = KEY.encode("utf-8")
    stored = [path for path in var_dir.rglob("*") if path.is_file()]
    assert anchor_path() in stored and any(p.suffix == ".db" for p in stored)
    assert [p for p in stored if secret in p.read_bytes()] == []
    assert KEY not in logs and KEY not in output
    with session_scope() as session:
        rows = session.execute(text("SELECT * FROM audit_log")).all()
    assert rows and KEY not in repr(rows)


def test_every_scan_publishes_the_head_once(sqlite_db: str, keyed: str, prefect: None) -> None:
    _write(2)
    scan(now=END)
    scan(now=END + timedelta(minutes=5))
    assert [(a["seq"], a["hash"]) for a in _anchors()] == [(2, _entries()[-1].hash)], "the same head: one line"
    _write(1, first=2)
    scan(now=END + timedelta(minutes=10))
    assert [a["seq"] for a in _anchors()] == [2, 3]
    assert _verify()[0] == 0


def test_the_review_publishes_the_head_and_states_it_in_the_review_and_its_mail(
    sqlite_db: str, keyed: str, smtp_sink: Path, prefect: None
) -> None:
    chatter()
    add_mentions(30, start=END - timedelta(minutes=50), minutes=45, prefix="b")
    (opened,) = triage(END)
    path = Path(review(incident_key=opened.incident_key, now=END + timedelta(hours=1)))
    head = _entries()[-1]
    assert _anchors()[-1]["seq"] == head.seq and _anchors()[-1]["hash"] == head.hash
    stated = f"审计链头：#{head.seq} `{head.hash}`"
    assert stated in path.read_text(encoding="utf-8")
    mails = [m for m in read_mail(smtp_sink) if "复盘" in m["Subject"]]
    assert mails and all(stated in text_part(m, "plain") for m in mails)
