"""The audit trail: hash-chained, verified by `crisis audit verify`, append-only in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from cli.app import app
from tasks.audit import record, verify_chain
from tasks.db import get_engine, session_scope

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _write_entries(n: int = 5) -> None:
    with session_scope() as session:
        for i in range(n):
            record(session, actor="张伟", action="incident.acknowledged", entity_type="incident",
                   entity_id=f"INC-20261120-00{i}", at=T0 + timedelta(minutes=i),
                   before={"state": "open"}, after={"state": "acknowledged", "note": f"第 {i} 条"})


def _tamper(sql: str, **params: object) -> None:
    """Change stored entries the way an intruder with database access would (bypassing the guard)."""
    engine = get_engine()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            conn.execute(text(sql), params)
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
            conn.execute(text(sql), params)


def test_intact_chain_verifies(database: str) -> None:
    _write_entries()
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "审计链完整：5 条已验证，链头 #5 " in result.output


def test_changing_one_entry_is_named_by_verify(database: str) -> None:
    _write_entries()
    _tamper("UPDATE audit_log SET actor = :actor WHERE seq = 3", actor="李娜")
    with session_scope() as session:
        report = verify_chain(session)
    assert report.broken_seq == 3 and len(report.problems) == 1
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "条目 #3 的内容与哈希不符" in result.output and "INC-20261120-002" in result.output


def test_deleting_an_entry_is_named_by_verify(database: str) -> None:
    _write_entries()
    _tamper("DELETE FROM audit_log WHERE seq = 2")
    with session_scope() as session:
        report = verify_chain(session)
    assert report.broken_seq == 2 and "条目 #2 缺失" in report.problems[0][1]


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_database_refuses_to_rewrite_history(database: str, statement: str) -> None:
    _write_entries(2)
    with pytest.raises(DBAPIError, match="append-only"):
        with session_scope() as session:
            session.execute(text(statement))
    with session_scope() as session:
        assert verify_chain(session).checked == 2


def test_entry_rolls_back_with_the_change_it_records(database: str) -> None:
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            record(session, actor="x", action="incident.opened", entity_type="incident", entity_id="A", at=T0)
            raise RuntimeError("the state change failed")
    with session_scope() as session:
        assert verify_chain(session).checked == 0
