"""Source health as operators see it: each source's status after a scan, the records handed to the incident
board (`name`, `status` code, …) and the rows of the `source-health` artifact (in Chinese).

Statuses: `ok`; `partial` (read, but some records or files were bad: named in the scan report);
`failing` (the source could not be read; the scan ran Failed naming it); `disabled`; `never run`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from tasks.monitoring.sources import FileMark, SourceProgress

STATUS_NAMES = {"ok": "正常", "partial": "部分记录有误", "failing": "读取失败", "disabled": "已停用",
                "never run": "尚未运行"}
KIND_NAMES = {"file": "投放目录文件", "http": "平台接口（HTTP）", "rss": "RSS 订阅", "sql": "店铺数据库（SQL）"}
NO_SOURCES = [{"来源": "—", "状态": "未配置任何来源"}]
DESCRIPTION = "舆情来源健康：各来源最近一次扫描的状态、上次成功时间和最近错误"


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


def records(rows: list[HealthRow]) -> list[dict[str, object]]:
    """Return the rows as dicts to hand between tasks (the incident board reads `name` and the `status` code)."""
    return [asdict(r) for r in rows]


def display(records: list[dict[str, object]], show_time: Callable[[datetime | None], str]) -> list[dict[str, object]]:
    """Return the records as table rows for people, in Chinese (times through `show_time`, e.g. Asia/Shanghai)."""
    rows = [HealthRow(**r) for r in records]  # type: ignore[arg-type]
    return [
        {"来源": r.name, "类型": KIND_NAMES.get(r.kind, r.kind), "状态": STATUS_NAMES.get(r.status, r.status),
         "上次成功": show_time(r.last_success_at),
         "最近错误": f"{show_time(r.last_error_at)} {r.last_error}" if r.last_error else "—",
         "连续失败次数": r.consecutive_failures, "上次读到条数": r.last_count, "有误记录数": r.last_problems}
        for r in rows
    ] or NO_SOURCES
