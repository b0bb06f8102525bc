"""One row of the `make bench` table: a figure against a baseline measured in the same run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from benchmarks.metrics import ratio


def comparison(
    figure: str, value: float, unit: str, baseline: str, baseline_value: float,
    goal: float | None = None, paired: Sequence[float] = (),
) -> dict[str, object]:
    """One row of the table: a figure, its baseline and their ratio, with the project's goal if any.

    `paired` are the ratios of the rounds in which both were timed back to back. When given, the
    ratio is their median (sturdier on a busy machine than a ratio of two independent figures) and
    their range shows how noisy the machine was.
    """
    r = statistics.median(paired) if paired else ratio(value, baseline_value)
    return {
        "figure": figure,
        "value": round(value, 1),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(baseline_value, 1),
        "ratio": round(r, 3),
        "paired_ratios": [round(p, 3) for p in paired],
        "goal_ratio": goal,
        "meets_goal": None if goal is None else r >= goal,
    }
