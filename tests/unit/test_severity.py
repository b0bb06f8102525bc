"""Heat index and the four-level grade (tasks/triage/severity.py) with the shipped severity.toml."""

from __future__ import annotations

import pytest

from tasks.incidents.state import Level, higher, is_higher
from tasks.triage.severity import grade, heat_index
from tests.unit.conftest import read_toml

SEVERITY = read_toml("severity.toml")
HEAT = {"I": 80.0, "II": 60.0, "III": 40.0}  # fixed here: the grade rule is under test, not the tuning
FLOOR = SEVERITY["category_floor"]
ORDERS = SEVERITY["affected_orders"]


def level(heat: float, category: str | None = "产品质量", orders: int | None = None) -> Level:
    return grade(heat, category, HEAT, FLOOR, orders, ORDERS)


def test_no_negative_mentions_means_no_heat() -> None:
    assert heat_index(0, 0) == 0


@pytest.mark.parametrize("mentions, reach", [(10**9, 10**12), (10**6, 0), (0, 10**15)])
def test_heat_never_exceeds_100(mentions: int, reach: int) -> None:
    assert 0 <= heat_index(mentions, reach) <= 100


def test_heat_is_never_negative_for_bad_counts() -> None:
    assert heat_index(-5, -100) == 0


def test_heat_rises_with_mentions_and_with_reach() -> None:
    counts = [0, 1, 5, 20, 100, 1000]
    reaches = [0, 10, 1000, 50_000, 1_000_000]
    for reach in reaches:
        heats = [heat_index(n, reach) for n in counts]
        assert heats == sorted(heats)
        assert heats[0] < heats[-1] or heats[-1] == 100
    for n in counts:
        heats = [heat_index(n, r) for r in reaches]
        assert heats == sorted(heats)
        assert heats[0] < heats[-1] or heats[-1] == 100


@pytest.mark.parametrize(
    "heat, expected",
    [(100, Level.I), (80, Level.I), (79.9, Level.II), (60, Level.II), (59.9, Level.III),
     (40, Level.III), (39.9, Level.IV), (0, Level.IV)],
)
def test_heat_thresholds_are_inclusive(heat: float, expected: Level) -> None:
    assert level(heat) == expected


@pytest.mark.parametrize("category", ["人身安全/食品安全", "个人信息泄露"])
def test_category_floor_raises_a_cold_incident(category: str) -> None:
    assert level(5, category) == Level.II


def test_category_floor_never_lowers_a_hot_incident() -> None:
    assert level(90, "个人信息泄露") == Level.I


def test_category_without_floor_and_no_category_keep_the_heat_level() -> None:
    assert level(5, "物流配送") == Level.IV
    assert level(5, None) == Level.IV


@pytest.mark.parametrize(
    "orders, expected",
    [(99, Level.IV), (100, Level.III), (999, Level.III), (1000, Level.II), (10_000, Level.I)],
)
def test_affected_orders_raise_the_level(orders: int, expected: Level) -> None:
    assert level(5, orders=orders) == expected


def test_affected_orders_never_lower_the_level() -> None:
    assert level(85, orders=150) == Level.I
    assert level(5, "个人信息泄露", orders=150) == Level.II


def test_unknown_affected_orders_are_ignored() -> None:
    assert level(5, orders=None) == Level.IV
    assert grade(5, None, HEAT, FLOOR, 10**6, None) == Level.IV


def test_higher_and_is_higher_agree_with_the_plan() -> None:
    assert higher(Level.III, Level.II) == Level.II
    assert higher(Level.I, Level.IV) == Level.I
    assert is_higher(Level.I, Level.II)
    assert not is_higher(Level.II, Level.II)
