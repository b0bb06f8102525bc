"""Compensation throughput (issue 6): a 1,000,000-order Taobao-format GB18030 CSV loaded, validated, planned
and written to the ledger through the real code path (the tasks' functions, without Prefect), against a
plain SQLAlchemy Core executemany of the same rows into the same kind of table, on SQLite and, when it
answers at 127.0.0.1:5432, PostgreSQL. Run alone: `python -m benchmarks.compensation [--orders N]`.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.data import app_database, pg_databases
from benchmarks.metrics import ratio

ORDERS = 1_000_000
POLICY = "coupon-20"
NOW = datetime(2025, 11, 27, 12, 0, tzinfo=UTC)
STARTED = NOW - timedelta(days=4)
KEY = "INC-20251123-001"
GOAL_SECONDS = {"sqlite": 10.0, "postgresql": 15.0}  # the whole batch of ORDERS orders (issue 17)
GOAL_RATIO = 0.4
STATUSES = np.array(["交易成功", "卖家已发货，等待买家确认", "买家已付款，等待卖家发货", "交易关闭",
                     "退款成功"])


def write_orders_csv(path: Path, count: int, seed: int = 6) -> None:
    """Write `count` Taobao seller-centre orders as GB18030 CSV: Excel-protected order numbers, about 10 %
    of customers with two orders, 5 % closed or refunded, paid in the 30 days before the incident."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    rng = np.random.default_rng(seed)
    customers = rng.permutation(count)[: count - count // 10]
    customer = np.concatenate([customers, rng.choice(customers, count - len(customers), replace=False)])
    fen = rng.integers(9_900, 59_900, count)
    seconds = rng.integers(60, 30 * 86_400, count)
    paid = (pd.Timestamp(STARTED).tz_convert("Asia/Shanghai").tz_localize(None)
            - pd.to_timedelta(seconds, unit="s")).strftime("%Y-%m-%d %H:%M:%S")
    order_numbers = pd.Series(np.arange(count, dtype=np.int64) + 420_000_000_000_000_000).astype(str)
    yuan = pd.Series(fen // 100).astype(str) + "." + pd.Series(fen % 100).astype(str).str.zfill(2)
    table = pa.Table.from_pandas(pd.DataFrame({
        "订单编号": '="' + order_numbers + '"',
        "买家会员名": "tb买家" + pd.Series(customer).astype(str),
        "买家实际支付金额": yuan,
        "订单付款时间": paid,
        "订单状态": STATUSES[rng.choice(5, count, p=[0.8, 0.08, 0.07, 0.03, 0.02])],
        "宝贝标题": "澄星空气炸锅家用大容量5L",
        "商家编码": "CX-AF-" + pd.Series(rng.integers(1, 3, count)).astype(str).str.zfill(2),
    }), preserve_index=False)
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(quoting_style="needed"))
    path.write_bytes(buffer.getvalue().decode("utf-8").encode("gb18030"))


def _open_incident() -> None:
    from tasks.db import session_scope
    from tasks.models import Incident

    with session_scope() as session:
        session.add(Incident(key=KEY, brand="澄星", category="产品质量", level="II", state="acknowledged",
                             heat=60.0, trigger_reason="benchmark", started_at=STARTED,
                             detected_at=STARTED + timedelta(hours=1),
                             acknowledged_at=STARTED + timedelta(hours=2), acknowledged_by="benchmark"))


def run_batch(orders_csv: Path) -> dict[str, object]:
    """Time load + validate, plan and ledger write of one applied batch through the tasks' functions."""
    from prefect.logging import disable_run_logger

    from tasks.compensation.approval import Decision
    from tasks.compensation.tasks import (
        load_orders_source,
        open_batch,
        plan_batch,
        record_decision,
        write_ledger,
    )

    _open_incident()
    with disable_run_logger():
        cpu = time.process_time()
        start = time.perf_counter()
        orders = load_orders_source.fn(KEY, str(orders_csv), None, "auto", POLICY, NOW)
        loaded = time.perf_counter()
        plan = plan_batch.fn(KEY, orders, POLICY, NOW)
        planned = time.perf_counter()
        batch = open_batch.fn(KEY, plan, POLICY, str(orders_csv), "auto", False, "benchmark", None, NOW)
        if batch.approval == "pending":  # above the policy's limit: approved as a person would in the UI
            approval = Decision(required=True, approved=True, approver="benchmark")
            batch = record_decision.fn(batch, approval, NOW)
        written = write_ledger.fn(batch, plan, NOW)
        done = time.perf_counter()
        cpu = time.process_time() - cpu
    assert written["orders"] == len(plan.items), (written, len(plan.items))
    return {"orders": len(orders), "items": len(plan.items), "plan": plan,
            "seconds": {"load_validate": round(loaded - start, 3), "plan": round(planned - loaded, 3),
                        "ledger": round(done - planned, 3), "total": round(done - start, 3),
                        "this_process_cpu": round(cpu, 3)}}


def core_insert(url: str, plan_items: pd.DataFrame, driver_only: bool = False) -> float:
    """Return the seconds a plain Core executemany takes to insert the planned rows into a fresh ledger
    table of the same shape (same columns, keys and indexes, same SQLite settings). With `driver_only`,
    the rows go to the driver's own executemany as ready tuples instead: the database's floor."""
    import sqlalchemy as sa

    from tasks.db import _tune_sqlite
    from tasks.models import Base, CompensationBatch, CompensationItem, Incident

    engine = sa.create_engine(url)
    if url.startswith("sqlite"):
        _tune_sqlite(engine)
    tables = [Incident.__table__, CompensationBatch.__table__, CompensationItem.__table__]
    Base.metadata.create_all(engine, tables=tables)
    with engine.begin() as conn:
        conn.execute(sa.insert(Incident.__table__), [dict(
            id=1, key=KEY, brand="澄星", category="产品质量", level="II", state="responding", heat=60.0,
            trigger_reason="baseline", negative_count=0, reach=0, started_at=STARTED, detected_at=STARTED,
            is_drill=False)])
        conn.execute(sa.insert(CompensationBatch.__table__), [dict(
            id=1, incident_id=1, policy=POLICY, orders_source="baseline", dry_run=False, status="running",
            order_count=0, applied_count=0, skipped_count=0, amount_fen=0, requested_by="baseline",
            created_at=NOW)])
    names = ("order_id", "customer_id", "customer_slot", "kind", "amount_fen", "points")
    values = list(zip(*(plan_items[c].tolist() for c in names), strict=True))
    rows = [dict(batch_id=1, incident_id=1, order_id=o, customer_id=c, customer_slot=s, kind=k, amount_fen=a,
                 points=p, status="applied", created_at=NOW) for o, c, s, k, a, p in values]
    stored_now = CompensationItem.__table__.c.created_at.type.dialect_impl(engine.dialect).bind_processor(
        engine.dialect)(NOW)
    tuples = [(1, 1, *v, "applied", stored_now) for v in values]
    sql = (f"INSERT INTO {CompensationItem.__tablename__} (batch_id, incident_id, {', '.join(names)}, status, "
           f"created_at) VALUES ({', '.join(['?' if url.startswith('sqlite') else '%s'] * 10)})")
    start = time.perf_counter()
    with engine.begin() as conn:
        if driver_only:
            conn.exec_driver_sql(sql, tuples)
        else:
            conn.execute(sa.insert(CompensationItem.__table__), rows)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def _figures(engine: str, ours: dict[str, object], baseline_seconds: float) -> dict[str, object]:
    seconds = ours["seconds"]
    items = int(ours["items"])
    ours_rate = int(ours["orders"]) / seconds["total"]
    ledger_rate = items / seconds["ledger"]
    core_rate = items / baseline_seconds
    return {
        "orders": ours["orders"], "items": items, "seconds": seconds,
        "core_executemany_seconds": round(baseline_seconds, 3),
        "whole_batch_orders_per_s": round(ours_rate, 1), "ledger_rows_per_s": round(ledger_rate, 1),
        "core_executemany_rows_per_s": round(core_rate, 1),
        "ratio_whole_batch_to_core": round((items / seconds["total"]) / core_rate, 3),
        "goal_seconds": GOAL_SECONDS[engine], "meets_seconds_goal": seconds["total"] <= GOAL_SECONDS[engine],
    }


def bench_compensation(orders: int = ORDERS) -> dict[str, object]:
    """Run the batch and its baseline on SQLite, then on PostgreSQL when available; return the figures."""
    results: dict[str, object] = {"orders": orders}
    with tempfile.TemporaryDirectory(prefix="crisis-bench-comp-") as tmp:
        folder = Path(tmp)
        csv_path = folder / "taobao-orders-gb18030.csv"
        write_orders_csv(csv_path, orders)
        results["csv_mb"] = round(csv_path.stat().st_size / 1e6, 1)
        with app_database(folder / "var", None):
            ours = run_batch(csv_path)
        items = ours.pop("plan").items
        baseline = core_insert(f"sqlite:///{folder / 'baseline.db'}", items)
        results["sqlite"] = _figures("sqlite", ours, baseline)
        floor = core_insert(f"sqlite:///{folder / 'floor.db'}", items, driver_only=True)
        results["sqlite"]["sqlite3_executemany_seconds"] = round(floor, 3)
        with pg_databases(2) as urls:
            if urls is None:
                results["postgresql"] = "not available at 127.0.0.1:5432"
            else:
                with app_database(folder / "var-pg", urls[0]):
                    pg = run_batch(csv_path)
                results["postgresql"] = _figures("postgresql", pg, core_insert(urls[1], pg.pop("plan").items))
    results["comparisons"] = _comparisons(results)
    return results


def _comparisons(results: dict[str, object]) -> list[dict[str, object]]:
    """Rows for `make bench`'s table per engine: the whole batch's rate against the plain insert's (goal ≥ 0.4×) and
    against all the orders in the goal's seconds (goal ≥ 1×)."""
    rows = []
    for engine in ("sqlite", "postgresql"):
        figures = results.get(engine)
        if not isinstance(figures, dict):
            continue
        value = figures["items"] / figures["seconds"]["total"]
        baseline = figures["core_executemany_rows_per_s"]
        r = ratio(value, baseline)
        rows.append({"figure": f"compensation batch, {engine} ({figures['seconds']['total']:.1f} s)",
                     "value": round(value, 1), "unit": "rows/s", "baseline": f"Core executemany ({engine})",
                     "baseline_value": baseline, "ratio": round(r, 3), "paired_ratios": [round(r, 3)],
                     "goal_ratio": GOAL_RATIO, "meets_goal": r >= GOAL_RATIO})
        # the whole batch against the goal of all orders in GOAL_SECONDS
        orders_rate = figures["orders"] / figures["seconds"]["total"]
        goal_rate = figures["orders"] / GOAL_SECONDS[engine]
        r = ratio(orders_rate, goal_rate)
        rows.append({"figure": f"compensation batch, {engine}, whole file", "value": round(orders_rate, 1),
                     "unit": "orders/s", "baseline": f"the {GOAL_SECONDS[engine]:g} s goal",
                     "baseline_value": goal_rate, "ratio": round(r, 3), "paired_ratios": [round(r, 3)],
                     "goal_ratio": 1.0, "meets_goal": r >= 1.0})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compensation",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=ORDERS)
    results = bench_compensation(parser.parse_args().orders)
    print(json.dumps({k: v for k, v in results.items()}, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
