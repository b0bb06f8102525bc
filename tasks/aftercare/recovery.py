"""Has public opinion recovered (舆情回落)? Compare the latest window with the pre-incident baseline. Pure.

Recovered: the negative share over the recovery window is back within `tolerance` of the baseline
share, the latest detection window holds fewer negatives than it takes to open an incident, and
its heat is below the level-III threshold. Second wave: the latest window has at least that many
negatives again and their share is above the baseline by twice the tolerance.
An incident resolves after `required` consecutive recovered checks.

Silence is no evidence: a window with too few mentions of the brand, or fed by a source that is down, is
`insufficient` (数据不足) — never recovered, whatever its share (an expired platform token must not close a
live crisis). A second wave seen in what did arrive still counts: negatives that came in are real.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    RECOVERED = "recovered"
    NOT_YET = "not_yet"
    SECOND_WAVE = "second_wave"
    INSUFFICIENT_DATA = "insufficient"  # the column holds 16 characters


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
    window_mentions: int | None = None  # of the brand, any tone, over the recovery window (shown in the reason)


@dataclass(frozen=True)
class SourceState:
    """A source that fed the brand, as its last scans left it."""

    name: str
    status: str  # ok | partial | failing | never run
    last_success_at: datetime | None


@dataclass(frozen=True)
class Evidence:
    mentions: int  # of the brand, any tone, in the recovery window
    min_mentions: int
    window_start: datetime
    sources: Sequence[SourceState] = ()


def evidence_gaps(e: Evidence, show_time: Callable[[datetime], str]) -> list[str]:
    """Return what the window lacks to be judged (empty: enough evidence), each part in Chinese."""
    gaps = []
    if e.mentions < e.min_mentions:
        gaps.append(f"窗口内品牌提及 {e.mentions} 条，少于最低要求 {e.min_mentions} 条")
    for s in e.sources:
        # `partial` read and stored its posts but skipped or cleaned a record: it still feeds the brand.
        if s.status in ("ok", "partial") and s.last_success_at is not None and s.last_success_at >= e.window_start:
            continue
        since = f"自 {show_time(s.last_success_at)} 起没有成功读取" if s.last_success_at else "从未成功读取"
        gaps.append(f"来源 {s.name} 不可用（状态 {s.status}，{since}）")
    return gaps


def check_recovery(x: RecoveryInput, gaps: Sequence[str] = ()) -> RecoveryCheck:
    """Return recovered / not yet / second wave / insufficient data, with the numbers that decided it."""
    numbers = "" if x.window_mentions is None else f"品牌提及 {x.window_mentions} 条，"
    numbers += (
        f"负面占比 {x.window_share:.0%}（基线 {x.baseline_share:.0%}，容差 {x.tolerance:.0%}），"
        f"最近窗口负面 {x.recent_negative} 条（开事件阈值 {x.min_volume}），热度 {x.recent_heat:.1f}"
        f"（上限 {x.heat_ceiling:g}）"
    )
    if x.recent_negative >= x.min_volume and x.recent_share >= x.baseline_share + 2 * x.tolerance:
        return RecoveryCheck(Outcome.SECOND_WAVE, "二次爆发：" + numbers)
    if gaps:
        return RecoveryCheck(Outcome.INSUFFICIENT_DATA, f"数据不足，无法判断：{'；'.join(gaps)}。现有数据：{numbers}")
    recovered = (x.window_share <= x.baseline_share + x.tolerance and x.recent_negative < x.min_volume
                 and x.recent_heat < x.heat_ceiling)
    return RecoveryCheck(Outcome.RECOVERED if recovered else Outcome.NOT_YET,
                         ("已回落：" if recovered else "未回落：") + numbers)


def consecutive_recovered(outcomes: Sequence[str], required: int) -> bool:
    """Tell whether the last `required` outcomes (oldest first) are all recovered."""
    tail = list(outcomes)[-required:]
    return len(tail) == required and all(o == Outcome.RECOVERED for o in tail)


def insufficient_in_a_row(outcomes: Sequence[str]) -> int:
    """Return how many of the latest outcomes (oldest first) in a row had insufficient data."""
    run = 0
    for outcome in reversed(outcomes):
        if outcome != Outcome.INSUFFICIENT_DATA:
            break
        run += 1
    return run
