"""Heat index and the four-level severity (I 特别重大 … IV 一般). Pure.

heat = min(100, 20·log10(1 + negative mentions) + 10·log10(1 + reach of negative mentions))
The level is the highest one whose heat threshold is reached, then raised to the category's
floor and to the level of the affected orders, when known: in doubt, the higher level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from tasks.incidents.state import LEVELS, Level, higher


def heat_index(negative_mentions: int, negative_reach: int) -> float:
    """Return the 0–100 heat of a set of negative mentions (volume and reach weighted)."""
    raw = 20 * math.log10(1 + max(negative_mentions, 0)) + 10 * math.log10(1 + max(negative_reach, 0))
    return round(min(100.0, raw), 1)


def grade(
    heat: float,
    category: str | None,
    heat_thresholds: Mapping[str, float],
    category_floor: Mapping[str, str],
    affected_orders: int | None = None,
    order_thresholds: Mapping[str, int] | None = None,
) -> Level:
    """Return the level for a heat, a category and (when known) the affected orders."""
    level = Level.IV
    for name in reversed(LEVELS[:-1]):  # III, II, I: the highest threshold reached wins
        if heat >= heat_thresholds[name]:
            level = name
    if category in category_floor:
        level = higher(level, Level(category_floor[category]))
    if affected_orders is not None and order_thresholds:
        for name in reversed(LEVELS[:-1]):
            if name in order_thresholds and affected_orders >= order_thresholds[name]:
                level = higher(level, name)
    return level
