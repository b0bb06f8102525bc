"""Ids wider than the ledger's columns, on SQLite and PostgreSQL: the file is refused at validation, naming
the row and the field, and nothing is applied (PostgreSQL used to take the first rows of the batch and then
stop on `value too long` halfway through the write); ids exactly as wide as the columns are paid."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tasks.compensation.orders import LEDGER_WIDTHS
from tasks.db import session_scope
from tasks.errors import OrdersFileInvalid
from tasks.models import CompensationBatch, CompensationItem
from tests.tasks.test_compensation_ledger import actions, make_incident, orders_csv, run_batch


def _counts() -> tuple[int, int]:
    with session_scope() as session:
        return (session.scalar(select(func.count(CompensationItem.id))) or 0,
                session.scalar(select(func.count(CompensationBatch.id))) or 0)


def test_the_ledger_widths_the_loader_checks_are_the_columns_widths() -> None:
    assert LEDGER_WIDTHS == {name: CompensationItem.__table__.c[name].type.length for name in LEDGER_WIDTHS}


def test_an_id_wider_than_its_ledger_column_is_refused_naming_row_and_field(database: str, tmp_path: Path) -> None:
    make_incident()
    rows = [(f"O{i}", f"C{i}", "10") for i in range(6)]
    rows[2] = ("O" + "7" * 64, "C2", "10")  # 65 characters, file row 4
    rows[4] = ("O4", "买家" * 33, "10")  # 66 characters, file row 6
    path = orders_csv(tmp_path / "o.csv", rows)

    with pytest.raises(OrdersFileInvalid) as refused:
        run_batch(path)

    assert [p.split(": ", 2)[:2] for p in refused.value.problems] == [
        [f"{path}:4", "order_id"], [f"{path}:6", "customer_id"]]
    assert "65 个字符，台账最多 64 个" in refused.value.problems[0]
    assert "66 个字符，台账最多 64 个" in refused.value.problems[1]
    assert _counts() == (0, 0)  # no batch opened, nobody paid
    assert "compensation.batch_started" not in actions()


def test_ids_exactly_as_wide_as_the_columns_are_paid(database: str, tmp_path: Path) -> None:
    make_incident()
    order, customer = "O" + "7" * 63, "买家" * 32
    _, _, written = run_batch(orders_csv(tmp_path / "o.csv", [(order, customer, "10"), ("O2", "C2", "10")]))

    assert written["orders"] == 2
    with session_scope() as session:
        stored = session.execute(select(CompensationItem.order_id, CompensationItem.customer_id)).all()
    assert {tuple(r) for r in stored} == {(order, customer), ("O2", "C2")}
