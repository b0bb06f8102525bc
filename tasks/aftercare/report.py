"""Metrics across incidents (`crisis report`): counts, median TTD/TTA/TTR per level, compensation. Pure."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tasks.incidents.state import LEVELS


@dataclass(frozen=True)
class IncidentFacts:
    level: str
    category: str
    is_drill: bool
    durations: dict[str, float | None]  # minutes
    compensation_fen: int
    compensated_orders: int


@dataclass(frozen=True)
class Report:
    incidents: int
    by_level: dict[str, int]
    by_category: dict[str, int]
    medians: dict[str, dict[str, float | None]]  # level -> TTD/TTA/TTR -> minutes
    compensation_fen: int
    compensated_orders: int


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def summarise(facts: Sequence[IncidentFacts]) -> Report:
    """Summarise real incidents (drills excluded)."""
    real = [f for f in facts if not f.is_drill]
    levels = sorted({f.level for f in real}, key=LEVELS.index)
    return Report(
        incidents=len(real),
        by_level=dict(Counter(f.level for f in real)),
        by_category=dict(Counter(f.category for f in real)),
        medians={lvl: {m: _median([f.durations.get(m) for f in real if f.level == lvl]) for m in ("TTD", "TTA", "TTR")}
                 for lvl in levels},
        compensation_fen=sum(f.compensation_fen for f in real),
        compensated_orders=sum(f.compensated_orders for f in real),
    )
