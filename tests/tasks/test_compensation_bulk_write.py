"""The ledger's bulk write on SQLite and PostgreSQL (COPY there): customer names as the shop exported them,
commas, quotes and backslashes included, are stored exactly; a chunk written again (its commit reached the
database, the acknowledgement did not) adds only the rows the ledger lacks."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from tasks.compensation import repository
from tasks.db import session_scope
from tasks.models import CompensationItem
from tests.tasks.test_compensation_ledger import HEADER, NOW, STARTED, make_incident, run_batch

NAMES = ["张,伟", 'O"Brien 李', "back\\slash", "tab\there", "  空格 ", "'single'", "=\"42\"x", "N/A", "NULL", "\\N"]


def _ledger() -> pd.DataFrame:
    with session_scope() as session:
        rows = session.execute(select(CompensationItem.order_id, CompensationItem.customer_id,
                                      CompensationItem.customer_slot, CompensationItem.amount_fen,
                                      CompensationItem.created_at).order_by(CompensationItem.order_id)).all()
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "customer_slot", "amount_fen", "created_at"])


def test_customer_names_with_csv_and_copy_syntax_are_stored_as_exported(database: str, tmp_path: Path) -> None:
    make_incident()
    path = tmp_path / "orders.csv"
    paid = (STARTED.replace(hour=0)).strftime("%Y-%m-%d %H:%M:%S")
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER.split(","))
        for i, name in enumerate(NAMES):
            writer.writerow([f"O{i}", name, "澄星空气炸锅", "CX", "10", paid, "completed", ""])

    _, plan, written = run_batch(path)

    stored = _ledger()
    expected = [name.strip() for name in NAMES]  # the loader trims cells, nothing else
    assert written["orders"] == len(NAMES) == len(plan.items)
    assert stored["customer_id"].tolist() == expected
    assert stored["customer_slot"].tolist() == ["c:" + name for name in expected]
    assert set(stored["amount_fen"]) == {2000} and set(stored["created_at"]) == {NOW}


def test_a_chunk_written_again_adds_only_what_the_ledger_lacks(database: str, tmp_path: Path) -> None:
    make_incident()
    with session_scope() as session:
        batch = repository.new_batch(session, incident_id=1, policy="coupon-20", orders_source="test",
                                     dry_run=False, status="running", requested_by="测试", created_at=NOW)
        batch_id = batch.id
    items = pd.DataFrame({"order_id": [f"O{i}" for i in range(6)], "customer_id": [f"C{i}" for i in range(6)]})
    items["customer_slot"] = "c:" + items["customer_id"]
    items["kind"], items["amount_fen"], items["points"] = "fixed_coupon", 2000, 0

    with session_scope() as session:
        first = repository.insert_items(session, items.iloc[:3], 1, batch_id, NOW)
    with session_scope() as session:
        again = repository.insert_items(session, items, 1, batch_id, NOW)
    other_order_same_customer = items.iloc[[0]].assign(order_id="P0")
    with session_scope() as session:
        slot_taken = repository.insert_items(session, other_order_same_customer, 1, batch_id, NOW)

    assert (first, again, slot_taken) == (3, 3, 0)
    stored = _ledger()
    assert stored["order_id"].tolist() == [f"O{i}" for i in range(6)]
    assert stored["customer_slot"].is_unique


def test_rows_for_a_batch_that_does_not_exist_are_refused_and_the_checks_stay_on_after(database: str) -> None:
    """PostgreSQL checks a chunk's incident and batch once (not per row): a missing one still refuses the whole
    chunk, and the per-row checks it switches off for that transaction are back on for the next one."""
    make_incident()
    items = pd.DataFrame({"order_id": ["O1", "O2"], "customer_id": ["C1", "C2"], "customer_slot": ["c:C1", "c:C2"],
                          "kind": "fixed_coupon", "amount_fen": 2000, "points": 0})
    with session_scope() as session:
        batch_id = repository.new_batch(session, incident_id=1, policy="coupon-20", orders_source="test",
                                        dry_run=False, status="running", requested_by="测试", created_at=NOW).id

    with pytest.raises((sqlite3.IntegrityError, LookupError)), session_scope() as session:  # straight from the driver
        repository.insert_items(session, items, 1, batch_id + 1, NOW)
    with session_scope() as session:
        assert repository.insert_items(session, items, 1, batch_id, NOW) == 2
    with pytest.raises(IntegrityError), session_scope() as session:  # the next transaction checks each row
        session.execute(insert(CompensationItem).values(
            batch_id=batch_id + 1, incident_id=1, order_id="O3", customer_id="C3", customer_slot="c:C3",
            kind="fixed_coupon", amount_fen=1, points=0, status="applied", created_at=NOW))

    assert _ledger()["order_id"].tolist() == ["O1", "O2"]
