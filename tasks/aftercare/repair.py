"""Reputation-repair steps of the plan (声誉修复) and the review's follow-up due dates. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from tasks.incidents.state import Level, at_least

STEPS = {
    "apology": "诚恳道歉",
    "disclosure": "公开信息",
    "improvement": "改进措施",
    "compensation": "提供补偿",
    "trust": "建立信任",
    "monitoring": "监测和反馈",
}


class StepState(StrEnum):
    TODO = "todo"
    DOING = "doing"
    DONE = "done"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StepView:
    step: str
    owner: str | None
    due_at: datetime | None
    state: str
    evidence: str | None


def overdue(steps: Sequence[StepView], now: datetime) -> list[StepView]:
    """Return the open steps whose due time has passed."""
    return [s for s in steps if s.state in (StepState.TODO, StepState.DOING) and s.due_at is not None
            and s.due_at < now]


def add_working_days(start: date, days: int) -> date:
    """Return the date `days` working days (Monday–Friday) after `start`."""
    current, left = start, days
    while left:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def review_due(level: str, resolved_on: date) -> date:
    """Return when the review is due: levels I/II within 3 days, III/IV within 5 working days."""
    if at_least(Level(level), Level.II):
        return resolved_on + timedelta(days=3)
    return add_working_days(resolved_on, 5)
