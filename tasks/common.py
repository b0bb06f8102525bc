"""Small helpers every stage shares: the run's clock and display time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

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

