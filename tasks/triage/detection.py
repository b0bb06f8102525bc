"""Decide from a brand's window statistics whether to open an incident, and say why. Pure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class WindowStats:
    """One brand's mentions inside the scan window."""

    brand: str
    volume: int = 0
    negative: int = 0
    negative_reach: int = 0
    first_negative_at: datetime | None = None
    categories: Counter[str] = field(default_factory=Counter)
    critical_terms: Counter[str] = field(default_factory=Counter)

    @property
    def negative_share(self) -> float:
        return self.negative / self.volume if self.volume else 0.0

    def main_category(self, fallback: str) -> str:
        """Return the commonest category among negative mentions (fallback when none matched)."""
        return self.categories.most_common(1)[0][0] if self.categories else fallback


def threshold_reason(stats: WindowStats, window_minutes: int, min_negative: int, heat: float) -> str | None:
    """Return the trigger reason when negative volume reaches the threshold, else None."""
    if stats.negative < min_negative:
        return None
    return (
        f"负面声量阈值：最近 {window_minutes} 分钟「{stats.brand}」负面提及 {stats.negative} 条"
        f"（≥ {min_negative}），占全部 {stats.volume} 条的 {stats.negative_share:.0%}；"
        f"负面触达 {stats.negative_reach:,} 人；热度 {heat:.1f}"
    )
