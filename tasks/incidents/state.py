"""The incident's vocabulary: its states and the transitions the plan allows, the order of its lifecycle
timestamps, and the one `Level` enum of the four-level convention (I 特别重大 … IV 一般).

Pure: no Prefect, SQLAlchemy or network. The level names, and the Chinese names of the levels and states
that people read, are spelled here and nowhere else.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class Level(StrEnum):
    I = "I"  # noqa: E741 - the plan's own name for the top level
    II = "II"
    III = "III"
    IV = "IV"


# Most severe first: I, II, III, IV.
LEVELS: tuple[Level, ...] = tuple(Level)
LEVEL_NAMES = {Level.I: "特别重大", Level.II: "重大", Level.III: "较大", Level.IV: "一般"}
LEVEL_COLOURS = {Level.I: "红色", Level.II: "橙色", Level.III: "黄色", Level.IV: "蓝色"}
_RANK = {Level.I: 4, Level.II: 3, Level.III: 2, Level.IV: 1}


def higher(a: Level, b: Level) -> Level:
    """Return the more severe of two levels."""
    return a if _RANK[a] >= _RANK[b] else b


def is_higher(a: Level, b: Level) -> bool:
    """Tell whether a is strictly more severe than b."""
    return _RANK[a] > _RANK[b]


def one_up(level: Level) -> Level:
    """Return the next more severe level (I stays I)."""
    return LEVELS[max(LEVELS.index(level) - 1, 0)]


def at_least(level: Level, floor: Level) -> bool:
    """Tell whether `level` is `floor` or more severe (e.g. at_least(level, Level.II): I or II)."""
    return _RANK[level] >= _RANK[floor]


def levels_apart(a: Level, b: Level) -> int:
    """Return how many levels separate a and b (0 for the same level)."""
    return abs(_RANK[a] - _RANK[b])


# The category of an incident whose mentions match no crisis category of the lexicon.
OTHER_CATEGORY = "其他"
# How the trigger reason of an incident a person opened begins (`crisis open`, the open-incident form): 人工立案（李娜）：…
HAND_OPENED = "人工立案"


def hand_reason(by: str, reason: str) -> str:
    """Return the trigger reason of an incident `by` opened by hand: 人工立案（李娜）：…"""
    return f"{HAND_OPENED}（{by}）：{reason.strip()}"


def opened_by_hand(trigger_reason: str) -> bool:
    """Return whether an incident with this trigger reason was opened by a person, not by a rule."""
    return trigger_reason.startswith(HAND_OPENED)


class IncidentState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESPONDING = "responding"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"


STATE_NAMES = {IncidentState.OPEN: "新建", IncidentState.ACKNOWLEDGED: "已确认", IncidentState.RESPONDING: "处理中",
               IncidentState.MONITORING: "观察中", IncidentState.RESOLVED: "已解决", IncidentState.CLOSED: "已关闭"}


def state_name(state: str) -> str:
    """Return the Chinese name of a state as people read it (新建 … 已关闭)."""
    return STATE_NAMES[IncidentState(state)]


ALLOWED: dict[IncidentState, frozenset[IncidentState]] = {
    IncidentState.OPEN: frozenset({IncidentState.ACKNOWLEDGED}),
    IncidentState.ACKNOWLEDGED: frozenset({IncidentState.RESPONDING, IncidentState.MONITORING}),
    IncidentState.RESPONDING: frozenset({IncidentState.MONITORING}),
    IncidentState.MONITORING: frozenset({IncidentState.RESPONDING, IncidentState.RESOLVED}),
    IncidentState.RESOLVED: frozenset({IncidentState.CLOSED, IncidentState.RESPONDING}),
    IncidentState.CLOSED: frozenset(),
}

# The timestamp a state stamps when first entered.
STAMPS: dict[IncidentState, str] = {
    IncidentState.ACKNOWLEDGED: "acknowledged_at",
    IncidentState.MONITORING: "mitigated_at",
    IncidentState.RESOLVED: "resolved_at",
    IncidentState.CLOSED: "closed_at",
}

# The lifecycle timestamps as people read them (crisis show, errors about their order).
STAMP_NAMES = {"started_at": "开始", "detected_at": "发现", "acknowledged_at": "确认接手", "mitigated_at": "缓解",
               "resolved_at": "解决", "closed_at": "关闭"}
TIMESTAMP_ORDER = (
    "started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "closed_at",
)

ACTIVE_STATES = frozenset(
    {IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.RESPONDING, IncidentState.MONITORING}
)


def can_transition(current: IncidentState, target: IncidentState) -> bool:
    """Tell whether the plan allows moving from current to target."""
    return target in ALLOWED[current]


def timestamp_problem(stamps: dict[str, datetime | None]) -> str | None:
    """Return why the lifecycle timestamps are out of order, or None when they are in order."""
    previous_name, previous = None, None
    for name in TIMESTAMP_ORDER:
        value = stamps.get(name)
        if value is None:
            continue
        if previous is not None and value < previous:
            return (f"{STAMP_NAMES.get(name, name)}时间（{value.isoformat()}）早于"
                    f"{STAMP_NAMES.get(previous_name, previous_name)}时间（{previous.isoformat()}）")
        previous_name, previous = name, value
    return None


def durations(stamps: dict[str, datetime | None]) -> dict[str, float | None]:
    """Return TTD / TTA / TTM / TTR in minutes (None where a timestamp is missing)."""

    def minutes(start: str, end: str) -> float | None:
        a, b = stamps.get(start), stamps.get(end)
        return None if a is None or b is None else (b - a).total_seconds() / 60

    return {
        "TTD": minutes("started_at", "detected_at"),
        "TTA": minutes("detected_at", "acknowledged_at"),
        "TTM": minutes("detected_at", "mitigated_at"),
        "TTR": minutes("detected_at", "resolved_at"),
    }


class Resolution(StrEnum):
    """How a responder closed an incident that was no real crisis (None on the incident: a real one)."""

    UNFOUNDED = "unfounded"  # 谣言: the story was false, handled by 辟谣
    FALSE_ALARM = "false_alarm"  # 误报: detection fired on nothing; the rules that fired are kept for tuning


RESOLUTION_NAMES = {Resolution.UNFOUNDED: "谣言（不实）", Resolution.FALSE_ALARM: "误报"}


def can_dismiss(current: IncidentState) -> bool:
    """Tell whether an incident in `current` may be closed straight away as unfounded or a false alarm:
    from any active state (open … monitoring), never once resolved or closed."""
    return current in ACTIVE_STATES
