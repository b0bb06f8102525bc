"""Has public opinion recovered (舆情回落)? Compare the latest window with the pre-incident baseline. Pure.

Recovered: the negative share over the recovery window is back within `tolerance` of the baseline
share, the latest detection window holds fewer negatives than it takes to open an incident, and
its heat is below the level-III threshold. Second wave: the latest window has at least that many
negatives again and their share is above the baseline by twice the tolerance.
An incident resolves after `required` consecutive recovered checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    RECOVERED = "recovered"
    NOT_YET = "not_yet"
    SECOND_WAVE = "second_wave"


@dataclass(frozen=True)
class RecoveryCheck:
    outcome: Outcome
    reason: str

    @property
    def recovered(self) -> bool:
        return self.outcome is Outcome.RECOVERED


@dataclass(frozen=True)
class RecoveryInput:
    baseline_share: float  # brand's negative share before the incident started
    window_share: float  # over the recovery window
    recent_negative: int  # in the latest detection window
    recent_share: float
    recent_heat: float
    tolerance: float
    min_volume: int  # negatives in a window that open an incident
    heat_ceiling: float  # the level-III heat threshold


def check_recovery(x: RecoveryInput) -> RecoveryCheck:
    """Return recovered / not yet / second wave, with the numbers that decided it."""
    numbers = (
        f"负面占比 {x.window_share:.0%}（基线 {x.baseline_share:.0%}，容差 {x.tolerance:.0%}），"
        f"最近窗口负面 {x.recent_negative} 条（开事件阈值 {x.min_volume}），热度 {x.recent_heat:.1f}"
        f"（上限 {x.heat_ceiling:g}）"
    )
    if x.recent_negative >= x.min_volume and x.recent_share >= x.baseline_share + 2 * x.tolerance:
        return RecoveryCheck(Outcome.SECOND_WAVE, "二次爆发：" + numbers)
    recovered = (x.window_share <= x.baseline_share + x.tolerance and x.recent_negative < x.min_volume
                 and x.recent_heat < x.heat_ceiling)
    return RecoveryCheck(Outcome.RECOVERED if recovered else Outcome.NOT_YET,
                         ("已回落：" if recovered else "未回落：") + numbers)


def consecutive_recovered(outcomes: Sequence[str], required: int) -> bool:
    """Tell whether the last `required` outcomes (oldest first) are all recovered."""
    tail = list(outcomes)[-required:]
    return len(tail) == required and all(o == Outcome.RECOVERED for o in tail)
