"""The trigger rule and its reason (tasks/triage/detection.py)."""

from __future__ import annotations

from collections import Counter

from tasks.triage.detection import WindowStats, threshold_reason


def stats(negative: int, volume: int = 20) -> WindowStats:
    return WindowStats(brand="澄星", volume=volume, negative=negative, negative_reach=123_456)


def test_below_the_threshold_there_is_no_reason() -> None:
    assert threshold_reason(stats(7), 60, 8, 55.0) is None
    assert threshold_reason(stats(0, volume=0), 60, 8, 0.0) is None


def test_at_the_threshold_the_reason_names_brand_count_threshold_and_heat() -> None:
    reason = threshold_reason(stats(8), 60, 8, 55.04)
    assert reason is not None
    for part in ("60 分钟", "「澄星」", "负面提及 8 条", "≥ 8", "40%", "123,456", "热度 55.0"):
        assert part in reason


def test_above_the_threshold_the_reason_gives_the_actual_count() -> None:
    reason = threshold_reason(stats(15), 30, 8, 70.0)
    assert reason is not None and "负面提及 15 条" in reason and "≥ 8" in reason and "30 分钟" in reason


def test_negative_share_is_zero_without_volume() -> None:
    assert WindowStats(brand="青禾").negative_share == 0.0
    assert stats(5, volume=20).negative_share == 0.25


def test_main_category_is_the_commonest() -> None:
    window = WindowStats(brand="青禾", categories=Counter({"物流配送": 2, "产品质量": 5, "售后服务": 1}))
    assert window.main_category("其他") == "产品质量"


def test_main_category_falls_back_without_categories() -> None:
    assert WindowStats(brand="青禾").main_category("其他") == "其他"
