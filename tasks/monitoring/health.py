"""Source health as operators see it: each source's status after a scan, and the rows the incident board
and the `source-health` artifact show (name, kind, status, last success, last error).

Statuses: `ok`; `partial` (read, but some records or files were bad: named in the scan report);
`failing` (the source could not be read; the scan ran Failed naming it); `disabled`; `never run`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tasks.monitoring.sources import FileMark, SourceProgress


@dataclass(frozen=True)
class SourceOutcome:
    """What one source's read came to in a scan (no mentions: those go to the store)."""

    source: str
    kind: str
    error: str | None = None
    mentions: int = 0
    problems: int = 0
    waiting: int = 0
    progress: SourceProgress | None = None
    files: tuple[FileMark, ...] = ()

    @property
    def status(self) -> str:
        return "failing" if self.error else "partial" if self.problems else "ok"


@dataclass(frozen=True)
class HealthRow:
    name: str
    kind: str
    enabled: bool
    status: str
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    last_count: int = 0
    last_problems: int = 0


def next_health(previous: dict[str, object] | None, outcome: SourceOutcome, now: datetime) -> dict[str, object]:
    """Return the source's health columns after this scan's outcome."""
    before = previous or {}
    values: dict[str, object] = {
        "source": outcome.source, "kind": outcome.kind, "status": outcome.status, "last_run_at": now,
        "last_success_at": before.get("last_success_at"), "last_error": before.get("last_error"),
        "last_error_at": before.get("last_error_at"), "last_count": outcome.mentions,
        "last_problems": outcome.problems,
    }
    if outcome.error:
        failures = int(before.get("consecutive_failures") or 0) + 1  # type: ignore[call-overload]
        values.update(last_error=outcome.error[:2000], last_error_at=now, consecutive_failures=failures)
    else:
        values.update(last_success_at=now, consecutive_failures=0)
    return values


def merge_with_config(stored: dict[str, dict[str, object]], configured: list[tuple[str, str, bool]]) -> list[HealthRow]:
    """Return one row per configured source (name, kind, enabled), in config order, with what was stored."""
    rows = []
    for name, kind, enabled in configured:
        values = stored.get(name)
        if values is None or not enabled:
            rows.append(HealthRow(name, kind, enabled, "never run" if enabled else "disabled",
                                  **_history(values)))
            continue
        rows.append(HealthRow(name=name, kind=kind, enabled=True, status=str(values["status"]), **_history(values)))
    return rows


def _history(values: dict[str, object] | None) -> dict[str, object]:
    keys = ("last_run_at", "last_success_at", "last_error", "last_error_at", "consecutive_failures", "last_count",
            "last_problems")
    return {k: values[k] for k in keys} if values else {}


def display(rows: list[HealthRow], show_time: Callable[[datetime | None], str]) -> list[dict[str, object]]:
    """Return the rows as JSON-able dicts for people (times through `show_time`, e.g. Asia/Shanghai)."""
    return [
        {"name": r.name, "kind": r.kind, "status": r.status, "last success": show_time(r.last_success_at),
         "last error": f"{show_time(r.last_error_at)} {r.last_error}" if r.last_error else "—",
         "failures in a row": r.consecutive_failures, "last count": r.last_count, "bad records": r.last_problems}
        for r in rows
    ]
