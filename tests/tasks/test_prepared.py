"""tasks.db.prepared: triage's statements are built once per shape and reused, and a process that watches many
brands (a replay of many files) does not keep every one it ever built."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tasks import db


def test_a_statement_is_built_once_per_key_and_the_kept_ones_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "_prepared", {})
    monkeypatch.setattr(db, "_PREPARED_AT_MOST", 3)
    built: list[str] = []

    def build(name: str) -> Callable[[], object]:
        return lambda: built.append(name) or object()

    first = db.prepared("a", build("a"))
    assert db.prepared("a", build("a again")) is first and built == ["a"]
    assert db.prepared("b", build("b")) is not first
    db.prepared("c", build("c"))
    db.prepared("d", build("d"))  # a fourth shape: the three kept are dropped first
    assert db.prepared("a", build("a rebuilt")) is not first and built[-1] == "a rebuilt"
    # no key: a statement holding values of its own is built every time and never kept
    assert db.prepared(None, build("none")) is not db.prepared(None, build("none")) and built[-2:] == ["none"] * 2
    assert None not in db._prepared
