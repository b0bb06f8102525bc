"""Has public opinion recovered (舆情回落)? Compare a window's negative share with the baseline. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecoveryCheck:
    recovered: bool
    reason: str


def check_recovery(baseline_share: float, current_share: float, tolerance: float, recent_negative: int,
                   min_negative: int) -> RecoveryCheck:
    """Recovered when the window's negative share is back within `tolerance` of the baseline and the
    latest triage window holds fewer negative mentions than it takes to open an incident."""
    within = current_share <= baseline_share + tolerance
    quiet = recent_negative < min_negative
    reason = (
        f"负面占比 {current_share:.0%}（基线 {baseline_share:.0%}，容差 {tolerance:.0%}），"
        f"最近一个监测窗口负面提及 {recent_negative} 条（开事件阈值 {min_negative}）"
    )
    return RecoveryCheck(within and quiet, ("已回落：" if within and quiet else "未回落：") + reason)
