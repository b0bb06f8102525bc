"""Recovery check and the review document (tasks/aftercare/recovery.py, review.py)."""

from __future__ import annotations

from typing import Any

from tasks.aftercare.recovery import check_recovery
from tasks.aftercare.review import ReviewData, TimelineEntry, render_review


def test_recovered_when_share_within_tolerance_and_window_quiet() -> None:
    check = check_recovery(0.10, 0.18, 0.10, recent_negative=3, min_negative=8)
    assert check.recovered
    assert check.reason.startswith("已回落")


def test_share_exactly_at_baseline_plus_tolerance_counts_as_recovered() -> None:
    assert check_recovery(0.25, 0.5, 0.25, recent_negative=0, min_negative=8).recovered


def test_not_recovered_while_share_is_above_tolerance() -> None:
    check = check_recovery(0.10, 0.35, 0.10, recent_negative=0, min_negative=8)
    assert not check.recovered
    assert check.reason.startswith("未回落")
    assert "35%" in check.reason and "10%" in check.reason


def test_not_recovered_while_recent_volume_would_open_an_incident() -> None:
    check = check_recovery(0.10, 0.10, 0.10, recent_negative=8, min_negative=8)
    assert not check.recovered
    assert "8 条" in check.reason


def review(**changes: Any) -> str:
    data: dict[str, Any] = {
        "key": "INC-20251120-001", "brand": "澄星", "category": "产品质量", "level": "II",
        "level_name": "重大", "state": "closed", "trigger_reason": "负面提及 12 条",
        "stamps": {"detected_at": "2025-11-20 10:05", "resolved_at": "2025-11-20 16:05"},
        "durations": {"TTD": 12.4, "TTA": 119.4, "TTM": 150.0, "TTR": None},
        "timeline": [TimelineEntry("2025-11-20 10:05", "system", "incident.opened", "热度 65.3"),
                     TimelineEntry("2025-11-20 10:20", "李娜", "custom.action", "说明")],
        "compensation": {"fixed_coupon": (1234, 123_456_789)},
        "top_posts": ["[微博] 触达 12,345：用了两天就坏了"],
        "mail_sent": 4,
    }
    data.update(changes)
    return render_review(ReviewData(**data))


def row(text: str, metric: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {metric} |"))


def test_review_names_the_incident() -> None:
    text = review()
    assert text.startswith("# 事件复盘 INC-20251120-001")
    assert "澄星" in text and "负面提及 12 条" in text and "预警邮件共发送 4 封" in text


def test_review_durations_in_minutes_then_hours_and_dash_when_missing() -> None:
    text = review()
    assert row(text, "TTD").endswith("| 12 分钟 |")
    assert row(text, "TTA").endswith("| 119 分钟 |")
    assert row(text, "TTM").endswith("| 2.5 小时 |")
    assert row(text, "TTR").endswith("| — |")


def test_review_timeline_uses_chinese_action_names_and_keeps_unknown_ones() -> None:
    text = review()
    assert "| 2025-11-20 10:05 | system | 事件开启 | 热度 65.3 |" in text
    assert "| custom.action |" in text


def test_review_compensation_in_yuan_with_two_decimals() -> None:
    assert "| fixed_coupon | 1,234 | 1,234,567.89 |" in review()
    assert "| fixed_coupon | 1 | 20.00 |" in review(compensation={"fixed_coupon": (1, 2000)})


def test_review_without_compensation_says_so() -> None:
    text = review(compensation={})
    assert "无补偿记录" in text
    assert "金额（元）" not in text
