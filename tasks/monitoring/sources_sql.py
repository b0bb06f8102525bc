"""The shop's own database (reviews, customer-service tickets) through a read-only SQLAlchemy URL.

The configured SELECT takes `:watermark` and is ordered by the watermark column; the largest value read
is kept, so each scan reads only what is new. Read-only three times over: the query must be one SELECT,
the connection is put in read-only mode (SQLite `mode=ro` + `query_only`, PostgreSQL
`default_transaction_read_only` with a `statement_timeout`, MySQL `SESSION TRANSACTION READ ONLY`),
and the URL should carry read-only credentials. The engine (tasks.db.read_only_engine) lives for one
read: this is an operator's database, not ours.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from config.files import SqlSource
from tasks.db import is_transient_db_error, read_only_engine
from tasks.monitoring.errors import SourceDataInvalid, SourceRejected, TransientSourceError
from tasks.monitoring.resilience import RetryPolicy, Sleep, call_with_retries
from tasks.monitoring.sources import Collector, ReadReport, SourceProgress, pluck


def encode_watermark(value: object) -> str:
    """Keep a watermark with its type, so the next query binds what the database handed out."""
    if isinstance(value, datetime | date):
        return json.dumps({"type": type(value).__name__, "value": value.isoformat()})
    if isinstance(value, Decimal):
        return json.dumps({"type": "decimal", "value": str(value)})
    return json.dumps({"type": "plain", "value": value})


def decode_watermark(stored: str) -> object:
    """Return the watermark value encode_watermark kept."""
    kept = json.loads(stored)
    kind, value = kept["type"], kept["value"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    return Decimal(value) if kind == "decimal" else value


def _rows(source: SqlSource, url: str, watermark: object) -> tuple[list[str], list[dict[str, object]]]:
    """Run the query once: its columns and up to max_rows rows; transient errors are marked for a retry."""
    try:
        engine = read_only_engine(url, source.timeout_seconds)
    except ValueError as exc:
        raise SourceRejected(f"{source.name}: {exc}") from None
    except (ArgumentError, NoSuchModuleError) as exc:
        raise SourceRejected(f"{source.name}: 数据库 URL 有误（{type(exc).__name__}）") from None
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=5000).execute(
                text(source.query), {"watermark": watermark})
            rows = [dict(row) for _, row in zip(range(source.max_rows), result.mappings(), strict=False)]
            columns = list(result.keys())
            result.close()
            return columns, rows
    except DBAPIError as exc:
        message = f"{source.name}: 查询失败（{type(exc.orig).__name__}: {str(exc.orig).strip()[:300]}）"
        if is_transient_db_error(exc) or "could not connect" in str(exc).lower() or "timeout" in str(exc).lower():
            raise TransientSourceError(message) from None
        raise SourceRejected(message) from None
    finally:
        engine.dispose()


def read_sql_source(source: SqlSource, progress: SourceProgress | None, url: str, now: datetime,
                    timezone: ZoneInfo, sleep: Sleep = time.sleep, clock: datetime | None = None) -> ReadReport:
    """Read rows past the watermark as of `now` (`clock`: the machine's, see Collector); keep the largest
    watermark not past a waiting row. A row dated years ahead is named and never moves the watermark."""
    report = ReadReport(source=source.name, kind="sql")
    start = decode_watermark(progress.watermark) if progress and progress.watermark else source.initial_watermark
    columns, rows = call_with_retries(lambda: _rows(source, url, start), RetryPolicy.of(source), sleep)
    if source.watermark not in columns:
        raise SourceDataInvalid(f"{source.name}: 查询结果没有 {source.watermark!r} 列"
                                f"（只有 {columns}）")
    collector = Collector(report, now, timezone, source.fields, source.platform, clock=clock)
    taken, waiting = [], []
    for number, row in enumerate(rows, start=1):
        ident = pluck(row, source.fields.get("id", "id"))
        outcome = collector.add(f"{source.name}: 第 {number} 行（编号 {ident}）", row)
        if outcome != "future":  # a watermark carried to 2099 would skip every row after it
            (waiting if outcome == "waiting" else taken).append(row[source.watermark])
    report.progress = SourceProgress(watermark=encode_watermark(_next_watermark(start, taken, waiting)))
    if len(rows) == source.max_rows:
        report.waiting.append(f"{source.name}: 已读满 max_rows {source.max_rows} 行，下次扫描接着读")
    return report


def _next_watermark(start: object, taken: list[object], waiting: list[object]) -> object:
    """Return the largest value read (bad rows included: they are named once), never past a waiting row."""
    ceiling = min(waiting) if waiting else None  # type: ignore[type-var]
    usable = [v for v in taken if v is not None and (ceiling is None or v < ceiling)]  # type: ignore[operator]
    return max(usable, default=start)  # type: ignore[type-var]
