"""The compensation ledger on SQLite and PostgreSQL: nobody paid twice after a rerun, two runs at once or a
run killed mid-batch; approval and rejection recorded; orders from a named SQL query; customer notices."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
from prefect.logging import disable_run_logger
from sqlalchemy import func, select

from config.files import clear_caches
from config.settings import get_settings
from tasks.audit import entries_for, verify_chain
from tasks.compensation import repository
from tasks.compensation.approval import Decision
from tasks.compensation.report import BatchSummary, queue_customer_notices, report_batch
from tasks.compensation.tasks import (
    load_orders_source,
    open_batch,
    plan_batch,
    record_decision,
    write_ledger,
)
from tasks.db import session_scope
from tasks.errors import InvalidTransition, OrdersSourceInvalid
from tasks.models import CompensationBatch, CompensationItem, Incident, Notification

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 11, 27, 4, 0, tzinfo=UTC)
STARTED = NOW - timedelta(days=3)
KEY = "INC-20251124-001"
HEADER = "order_id,customer_id,product,sku,amount_yuan,paid_at,status,email"


def make_incident(key: str = KEY, state: str = "acknowledged") -> None:
    """Store an incident that started three days before NOW and was detected an hour later."""
    with session_scope() as session:
        session.add(Incident(
            key=key, brand="澄星", category="产品质量", level="II", state=state, heat=60.0,
            trigger_reason="test",
            started_at=STARTED, detected_at=STARTED + timedelta(hours=1),
            acknowledged_at=None if state == "open" else STARTED + timedelta(hours=2),
            acknowledged_by=None if state == "open" else "李娜"))


def orders_csv(path: Path, rows: list[tuple[str, str, str]], encoding: str = "gb18030") -> Path:
    """Write generic orders of (order_id, customer_id, amount_yuan), paid the day before the incident."""
    paid = (STARTED - timedelta(days=1)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    lines = [HEADER] + [f"{o},{c},澄星空气炸锅,CX-AF-01,{a},{paid},completed,{c.lower()}@example.com"
                        for o, c, a in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def run_batch(path: Path, policy: str = "coupon-20", dry_run: bool = False, approve: bool = True) -> tuple:  # type: ignore[type-arg]
    """Load, plan, open, decide and write one batch through the tasks' functions.

    Returns (batch, plan, what was written)."""
    with disable_run_logger():
        orders = load_orders_source.fn(KEY, str(path), None, "auto", policy, NOW)
        plan = plan_batch.fn(KEY, orders, policy, NOW)
        batch = open_batch.fn(KEY, plan, policy, str(path), "auto", dry_run, "刘洋", "测试", NOW)
        if batch.approval == "pending":
            decision = Decision(True, approve, "王芳", "同意" if approve else "金额过大")
            batch = record_decision.fn(batch, decision, NOW)
        written = write_ledger.fn(batch, plan, NOW)
    return batch, plan, written


def ledger() -> pd.DataFrame:
    with session_scope() as session:
        rows = session.execute(select(CompensationItem.order_id, CompensationItem.customer_slot,
                                      CompensationItem.amount_fen, CompensationItem.batch_id)).all()
    return pd.DataFrame(rows, columns=["order_id", "customer_slot", "amount_fen", "batch_id"])


def actions() -> list[str]:
    with session_scope() as session:
        return [e.action for e in entries_for(session, "incident", KEY)]


def test_a_batch_pays_each_customer_once_and_a_rerun_pays_nobody(database: str, tmp_path: Path) -> None:
    make_incident()
    path = orders_csv(tmp_path / "o.csv", [("O1", "C1", "299.00"), ("O2", "C1", "10"), ("O3", "C2", "¥5.5")])
    batch, plan, written = run_batch(path)
    assert written == {"orders": 2, "customers": 2, "amount_fen": 4000, "points": 0}
    assert sorted(ledger()["customer_slot"]) == ["c:C1", "c:C2"]
    again, _, rewritten = run_batch(path)
    assert rewritten["orders"] == 0 and len(ledger()) == 2 and again.batch_id != batch.batch_id
    with session_scope() as session:
        first = session.get(CompensationBatch, batch.batch_id)
        assert (first.status, first.applied_count, first.amount_fen, first.customer_count) == (
            "applied", 2, 4000, 2)
        assert session.get(Incident, 1).state == "monitoring"
        assert verify_chain(session).ok
    assert actions().count("compensation.batch_started") == 2
    assert actions().count("compensation.batch_completed") == 2


def test_a_dry_run_writes_no_items(database: str, tmp_path: Path) -> None:
    make_incident()
    batch, plan, written = run_batch(orders_csv(tmp_path / "o.csv", [("O1", "C1", "10")]), dry_run=True)
    assert batch.status == "dry_run" and written["orders"] == 0 and ledger().empty and len(plan.items) == 1


def test_a_rejected_batch_applies_nothing_and_the_decision_is_audited(database: str, tmp_path: Path) -> None:
    make_incident()
    rows = [(f"O{i}", f"C{i}", "300") for i in range(40)]  # 40 × 300 元 = 12,000 元 > refund-full's 10,000 元
    path = orders_csv(tmp_path / "o.csv", rows)
    batch, plan, written = run_batch(path, policy="refund-full", approve=False)
    assert plan.total_fen == 1_200_000 and batch.status == "rejected" and written["orders"] == 0
    assert ledger().empty
    with session_scope() as session:
        row = session.get(CompensationBatch, batch.batch_id)
        assert (row.status, row.approval, row.approved_by, row.decision_note) == (
            "rejected", "rejected", "王芳", "金额过大")
        rejected = [e for e in entries_for(session, "incident", KEY)
                    if e.action == "compensation.batch_rejected"]
        assert rejected[0].actor == "王芳" and "金额过大" in rejected[0].after
        assert session.get(Incident, 1).state == "acknowledged"


def test_an_approved_batch_records_the_approver_and_pays(database: str, tmp_path: Path) -> None:
    make_incident()
    rows = [(f"O{i}", f"C{i}", "300") for i in range(40)]
    batch, plan, written = run_batch(orders_csv(tmp_path / "o.csv", rows), policy="refund-full")
    assert batch.approval == "approved" and written["amount_fen"] == 1_200_000
    assert "compensation.batch_approved" in actions()
    with session_scope() as session:
        assert session.get(CompensationBatch, batch.batch_id).approved_by == "王芳"


def test_the_database_refuses_a_second_order_or_customer_slot(database: str) -> None:
    make_incident()
    with session_scope() as session:
        batch = repository.new_batch(session, incident_id=1, policy="p", orders_source="s", dry_run=False,
                                     status="running", requested_by="x", created_at=NOW)
        batch_id = batch.id
    items = pd.DataFrame({"order_id": ["O1", "O2", "O1"], "customer_id": ["C1", "C1", "C9"],
                          "customer_slot": ["c:C1", "c:C1", "c:C9"], "kind": "fixed_coupon",
                          "amount_fen": [2000, 2000, 2000], "points": 0})
    for rows, added in ((items.iloc[[0]], 1), (items.iloc[[1]], 0), (items.iloc[[2]], 0)):
        with session_scope() as session:
            assert repository.insert_items(session, rows, 1, batch_id, NOW) == added
    assert list(ledger()["order_id"]) == ["O1"]


def test_an_open_incident_is_not_compensated(database: str, tmp_path: Path) -> None:
    make_incident(state="open")
    with pytest.raises(InvalidTransition, match="请先确认接手事件"):
        run_batch(orders_csv(tmp_path / "o.csv", [("O1", "C1", "10")]))


def test_exactly_one_orders_source_is_required(sqlite_db: str) -> None:
    make_incident()
    with disable_run_logger(), pytest.raises(OrdersSourceInvalid, match="两者都没有给出"):
        load_orders_source.fn(KEY, None, None, "auto", "coupon-20", NOW)
    with disable_run_logger(), pytest.raises(OrdersSourceInvalid, match="不能同时给出"):
        load_orders_source.fn(KEY, "a.csv", "paid-orders", "auto", "coupon-20", NOW)
    with disable_run_logger(), pytest.raises(OrdersSourceInvalid, match="未配置订单数据库.*CRISIS_ORDERS_DATABASE_URL"):
        load_orders_source.fn(KEY, None, "paid-orders", "auto", "coupon-20", NOW)
    with disable_run_logger(), pytest.raises(OrdersSourceInvalid, match="没有名为 'no-such' 的订单查询；已有：.*paid-orders"):
        load_orders_source.fn(KEY, None, "no-such", "auto", "coupon-20", NOW)


def test_orders_come_from_a_named_query_on_the_orders_database(
    sqlite_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    inside, before = STARTED - timedelta(days=2), STARTED - timedelta(days=60)
    pd.DataFrame({
        "order_id": ["S1", "S2", "S3"], "customer_id": ["C1", "C2", "C3"], "product": "澄星空气炸锅",
        "sku": "X", "amount_yuan": [299.0, 19.9, 10.0], "paid_at": [inside, inside, before],
        "status": ["completed", "paid", "paid"],
        "email": ["c1@example.com", None, None],
    }).to_sql("orders", shop, index=False)
    shop.dispose()
    monkeypatch.setenv("CRISIS_ORDERS_DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    clear_caches()
    make_incident()
    with disable_run_logger():
        orders = load_orders_source.fn(KEY, None, "paid-orders", "auto", "coupon-20", NOW)
    assert list(orders["order_id"]) == ["S1", "S2"], "the query's window parameters leave S3 out"
    assert list(orders["amount_fen"]) == [29900, 1990] and list(orders["email"]) == ["c1@example.com", ""]


def test_customer_notices_are_queued_once_per_customer(sqlite_db: str, tmp_path: Path) -> None:
    make_incident()
    batch, plan, written = run_batch(orders_csv(tmp_path / "o.csv", [("O1", "C1", "10"), ("O2", "C2", "20")]))
    with disable_run_logger():
        summary = report_batch.fn(batch, plan, written)
        noticed = queue_customer_notices.fn(summary, plan, NOW)
        again = queue_customer_notices.fn(summary, plan, NOW)
    assert (noticed.notices, again.notices) == (2, 0)
    with session_scope() as session:
        mail = session.scalars(select(Notification).order_by(Notification.recipient)).all()
    assert [m.recipient for m in mail] == ["c1@example.com", "c2@example.com"]
    assert all(m.kind == "compensation_notice" and "20.00 元" in m.body_text and "澄星" in m.subject
               for m in mail)
    report = Path(summary.report_path).read_text(encoding="utf-8-sig").splitlines()
    assert report[1] == "O1,C1,fixed_coupon,2000,20.00,0"


# A child process runs one batch: load, plan, open, approve; then waits for the go file, then writes.
CHILD = """
import json, os, sys, time
from datetime import datetime
from pathlib import Path
from prefect.logging import disable_run_logger
from tasks.compensation.approval import Decision
from tasks.compensation.tasks import load_orders_source, open_batch, plan_batch, record_decision, write_ledger
key, path, policy, go, now = sys.argv[1:6]
now = datetime.fromisoformat(now)
with disable_run_logger():
    orders = load_orders_source.fn(key, path, None, "auto", policy, now)
    plan = plan_batch.fn(key, orders, policy, now)
    batch = open_batch.fn(key, plan, policy, path, "auto", False, f"pid-{os.getpid()}", None, now)
    if batch.approval == "pending":
        batch = record_decision.fn(batch, Decision(True, True, "王芳", ""), now)
    Path(f"{go}.ready.{os.getpid()}").touch()
    while not Path(go).exists():
        time.sleep(0.01)
    written = write_ledger.fn(batch, plan, now)
print(json.dumps({"batch": batch.batch_id, "planned": len(plan.items), **written}))
"""


def start_child(path: Path, go: Path, policy: str, chunk_size: int) -> subprocess.Popen[str]:
    env = {**os.environ, "CRISIS_COMPENSATION__CHUNK_SIZE": str(chunk_size),
           "PREFECT_LOGGING_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-c", CHILD, KEY, str(path), policy, str(go), NOW.isoformat()],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def finish(child: subprocess.Popen[str]) -> dict[str, int]:
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("policy, overlap", [("coupon-20", "same customers, different orders"),
                                             ("refund-full", "the same orders")])
def test_two_runs_at_once_never_pay_an_order_or_customer_twice(
    database: str, tmp_path: Path, policy: str, overlap: str
) -> None:
    make_incident()
    n = 2000
    first = orders_csv(tmp_path / "first.csv", [(f"O{i}", f"C{i}", "10") for i in range(n)])
    if overlap == "the same orders":
        second = first
    else:  # half the same orders, half other orders of the same customers
        second = orders_csv(tmp_path / "second.csv",
                            [(f"O{i}" if i < n // 2 else f"P{i}", f"C{i}", "10") for i in range(n)])
    go = tmp_path / "go"
    children = [start_child(path, go, policy, chunk_size=100) for path in (first, second)]
    wait_for(lambda: len(list(tmp_path.glob("go.ready.*"))) == 2, 180, "both runs to plan their batch")
    go.touch()
    results = [finish(child) for child in children]
    assert all(r["planned"] == n for r in results), "both planned every order against an empty ledger"
    rows = ledger()
    assert len(rows) == n == rows["order_id"].nunique() == rows["customer_slot"].nunique()
    assert sum(r["orders"] for r in results) == n
    assert rows["amount_fen"].sum() == n * (2000 if policy == "coupon-20" else 1000)
    assert set(rows["batch_id"]) <= {r["batch"] for r in results}


def test_a_run_killed_mid_batch_finishes_every_order_exactly_once_when_started_again(
    database: str, tmp_path: Path
) -> None:
    make_incident()
    n = 30_000
    path = orders_csv(tmp_path / "o.csv", [(f"O{i}", f"C{i}", "10") for i in range(n)])
    go = tmp_path / "go"
    go.touch()
    child = start_child(path, go, "coupon-20", chunk_size=20)
    # A plain engine that only reads (the app's engine would take the write lock to begin).
    observer = sa.create_engine(get_settings().sqlalchemy_url, poolclass=sa.pool.NullPool)
    with observer.connect() as connection:
        count = sa.text("SELECT count(*) FROM compensation_items")
        wait_for(lambda: connection.execute(count).scalar() >= 500, 180, "the first chunks to commit")
        child.send_signal(signal.SIGKILL)
    observer.dispose()
    child.wait(timeout=30)
    written_before = len(ledger())
    assert child.returncode == -signal.SIGKILL and 500 <= written_before < n, "killed mid-batch"
    with session_scope() as session:
        killed = session.scalar(select(CompensationBatch).order_by(CompensationBatch.id))
        assert killed.status == "running"
        assert session.scalar(select(func.count()).select_from(CompensationItem)) == written_before
    batch, plan, written = run_batch(path)
    rows = ledger()
    assert len(rows) == n == rows["order_id"].nunique() == rows["customer_slot"].nunique()
    assert rows["amount_fen"].sum() == n * 2000
    assert written["orders"] == len(plan.items) == n - written_before
    with disable_run_logger():
        summary: BatchSummary = report_batch.fn(batch, plan, written)
    assert summary.skipped == {"该订单已补偿": written_before}


def test_a_chunk_is_retried_after_a_transient_error_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError

    from tasks.compensation import tasks as compensation_tasks

    monkeypatch.setattr(compensation_tasks.time, "sleep", lambda seconds: None)
    deadlock = OperationalError("INSERT …", {}, type("Orig", (Exception,), {"pgcode": "40P01"})())
    attempts = iter([OperationalError("INSERT …", {}, Exception("database is locked")), deadlock, 7])

    def flaky() -> int:
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert compensation_tasks._with_retries(flaky) == 7
    refused = IntegrityError("INSERT …", {}, Exception("NOT NULL constraint failed"))
    calls = []

    def broken() -> int:
        calls.append(1)
        raise refused

    with pytest.raises(IntegrityError):
        compensation_tasks._with_retries(broken)
    assert len(calls) == 1, "a permanent error is not retried"
