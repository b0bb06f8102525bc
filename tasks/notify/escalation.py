"""When to chase and whom: escalation steps and status-update steps; and how an incident's level was raised
(升级: from which level, by whom or which rule, why), for the alert that follows. Pure.

Both count whole periods since the incident's first alert: the escalation tier due after n
acknowledgement periods is n (capped at the last tier); status update n is due after n periods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tasks.common import show_time
from tasks.incidents.state import LEVEL_NAMES, Level, at_least, is_higher
from tasks.notify.routing import Recipient, holders, unique_people
from tasks.notify.templates import one_line


@dataclass(frozen=True)
class Tier:
    name: str
    roles: tuple[str, ...]
    deputies: bool = False


RAISING_ACTIONS = {"incident.escalated": False, "incident.level_overridden": True}  # action -> set by hand


@dataclass(frozen=True)
class LevelRaise:
    """The latest rise of an incident's level to its current one (由 II 级升为 I 级)."""

    from_level: Level
    to_level: Level
    actor: str  # who set it by hand, or the system actor of an automatic escalation
    manual: bool
    reason: str
    at: datetime


def level_raise(entries: Sequence[Mapping[str, Any]], level: Level) -> LevelRaise | None:
    """Return the latest audited rise of the level to `level` (automatic escalation or a level set higher by
    hand), or None when the incident reached `level` without one (it opened at it). Each entry is an audit
    entry as a mapping: action, actor, at, and its before / after snapshots (dicts with "level")."""
    for entry in reversed(entries):
        manual = RAISING_ACTIONS.get(str(entry["action"]))
        if manual is None:
            continue
        before, after = entry.get("before") or {}, entry.get("after") or {}
        if after.get("level") != level or before.get("level") not in tuple(Level):
            continue
        if is_higher(level, Level(before["level"])):
            return LevelRaise(Level(before["level"]), level, str(entry["actor"]), manual,
                              str(after.get("reason") or ""), entry["at"])
    return None


def raise_context(raised: LevelRaise | None, rules: Sequence[str]) -> dict[str, Any]:
    """Return what an alert after a rise of the level says: from which level to which, who or which rule
    raised it, why, and the detection rules that fired; {} for a first alert (the templates test it)."""
    if raised is None:
        return {}
    by = f"{one_line(raised.actor, 64)}（人工定级）" if raised.manual else "系统自动升级（定级规则，见 config/severity.toml）"
    return {"from_level": raised.from_level.value, "from_name": LEVEL_NAMES[raised.from_level],
            "to_level": raised.to_level.value, "to_name": LEVEL_NAMES[raised.to_level], "by": by,
            "why": one_line(raised.reason or "—", 500), "at": show_time(raised.at),
            "rules": [one_line(rule, 300) for rule in rules]}


def periods_elapsed(since: datetime, now: datetime, period: timedelta) -> int:
    """Return how many whole periods lie between `since` and `now` (0 before the first ends)."""
    if period <= timedelta(0):
        raise ValueError(f"a period must be positive, got {period}")
    return max(0, int((now - since) / period))


def due_tier(alerted_at: datetime, now: datetime, ack_period: timedelta, tier_count: int) -> int:
    """Return the escalation tier that should have been told by `now` (0 = none yet)."""
    return min(tier_count, periods_elapsed(alerted_at, now, ack_period))


def step_recipients(
    tiers: Sequence[Tier],
    reached: int,
    target: int,
    told: Sequence[Recipient],
    people: Sequence[Recipient],
    directory: Mapping[str, Recipient],
) -> list[Recipient]:
    """Return who the step from tier `reached` to tier `target` tells, each once.

    First the role holders of every tier now reached (with the deputies of everyone told so far
    when a tier asks for them), then everyone told before, who is chased again.
    """
    chosen: list[Recipient] = []
    for tier in tiers[reached:target]:
        members = holders(tier.roles, people)
        chosen += members
        if tier.deputies:
            chosen += [directory[p.deputy] for p in [*told, *members] if p.deputy and p.deputy in directory]
    return unique_people([*chosen, *told])


def status_needs(state: str, owner: str | None, compensated_orders: int, level: str) -> list[str]:
    """Return what the response still needs, for the status update's 需求 section."""
    needs = []
    if owner:
        needs.append(f"请负责人 {owner} 补充最新情况、已采取的措施和需要的支持")
    else:
        needs.append("尚无人确认接手：请立即确认（crisis ack）")
    if compensated_orders == 0:
        needs.append("评估是否需要启动补偿（crisis compensate）")
    if at_least(Level(level), Level.II):
        needs.append("公关专员确认对外声明是否已发布，口径是否需要更新")
    if state == "monitoring":
        needs.append("继续观察舆情回落，确认是否可以结束事件")
    return needs
