"""Small helpers every stage shares: the run's clock, display time, transient-error retries."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError, OperationalError

from config.settings import get_settings


def resolve_now(now: datetime | None) -> datetime:
    """Return the run's `now` in UTC: the parameter when given (naive = Asia/Shanghai), else the clock."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=local_zone())
    return now.astimezone(UTC)


def local_zone() -> ZoneInfo:
    """Return the operators' time zone (Asia/Shanghai by default)."""
    return ZoneInfo(get_settings().timezone)


def show_time(value: datetime | None) -> str:
    """Format a UTC time for people, in the operators' zone."""
    if value is None:
        return "—"
    return value.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def is_transient_db_error(exc: BaseException) -> bool:
    """Tell whether a database error is worth retrying (locked database, dropped connection)."""
    if isinstance(exc, OperationalError | sqlite3.OperationalError):
        message = str(exc).lower()
        return "locked" in message or "busy" in message or "connection" in message
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def retry_transient_db(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Prefect retry_condition_fn: retry only transient database errors."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - classifying, not swallowing
        return is_transient_db_error(exc)
    return False
