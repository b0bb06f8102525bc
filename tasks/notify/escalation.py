"""When to chase and whom: escalation steps and status-update steps. Pure.

Both count whole periods since the incident's first alert: the escalation tier due after n
acknowledgement periods is n (capped at the last tier); status update n is due after n periods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tasks.incidents.state import Level, at_least
from tasks.notify.routing import Recipient, holders, unique_people


@dataclass(frozen=True)
class Tier:
    name: str
    roles: tuple[str, ...]
    deputies: bool = False


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
