"""Heat index and the four-level severity (I 特别重大 … IV 一般). Pure.

heat = min(100, 20·log10(1 + negative mentions) + 10·log10(1 + reach of negative mentions))
The level is the highest one whose heat threshold is reached, then raised to the category's
floor and to the level of the affected orders, when known: in doubt, the higher level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum


class Level(StrEnum):
    I = "I"  # noqa: E741 - the plan's own name for the top level
    II = "II"
    III = "III"
    IV = "IV"


LEVEL_NAMES = {Level.I: "特别重大", Level.II: "重大", Level.III: "较大", Level.IV: "一般"}
LEVEL_COLOURS = {Level.I: "红色", Level.II: "橙色", Level.III: "黄色", Level.IV: "蓝色"}
_RANK = {Level.I: 4, Level.II: 3, Level.III: 2, Level.IV: 1}


def heat_index(negative_mentions: int, negative_reach: int) -> float:
    """Return the 0–100 heat of a set of negative mentions (volume and reach weighted)."""
    raw = 20 * math.log10(1 + max(negative_mentions, 0)) + 10 * math.log10(1 + max(negative_reach, 0))
    return round(min(100.0, raw), 1)


def higher(a: Level, b: Level) -> Level:
    """Return the more severe of two levels."""
    return a if _RANK[a] >= _RANK[b] else b


def is_higher(a: Level, b: Level) -> bool:
    """Tell whether a is strictly more severe than b."""
    return _RANK[a] > _RANK[b]


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
    for name in ("III", "II", "I"):
        if heat >= heat_thresholds[name]:
            level = Level(name)
    if category in category_floor:
        level = higher(level, Level(category_floor[category]))
    if affected_orders is not None and order_thresholds:
        for name in ("III", "II", "I"):
            if name in order_thresholds and affected_orders >= order_thresholds[name]:
                level = higher(level, Level(name))
    return level
