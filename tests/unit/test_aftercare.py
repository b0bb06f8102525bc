"""Recovery check and the review document (tasks/aftercare/recovery.py, review.py)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tasks.aftercare.recovery import Outcome, RecoveryInput, check_recovery, consecutive_recovered
from tasks.aftercare.repair import StepView, add_working_days, overdue, review_due
from tasks.aftercare.report import IncidentFacts, summarise
from tasks.aftercare.review import Lesson, ReviewData, TimelineEntry, render_review
from tasks.aftercare.timeline import actor_name, describe


def check(**changes: Any):  # type: ignore[no-untyped-def]
    values: dict[str, Any] = dict(baseline_share=0.10, window_share=0.18, recent_negative=3, recent_share=0.15,
                                  recent_heat=20.0, tolerance=0.10, min_volume=8, heat_ceiling=40.0)
    values.update(changes)
    return check_recovery(RecoveryInput(**values))


def test_recovered_when_share_within_tolerance_and_window_quiet() -> None:
    result = check()
    assert result.outcome is Outcome.RECOVERED and result.reason.startswith("已回落")


def test_share_exactly_at_baseline_plus_tolerance_counts_as_recovered() -> None:
    assert check(baseline_share=0.25, window_share=0.5, tolerance=0.25).recovered


def test_not_recovered_while_share_is_above_tolerance() -> None:
    result = check(window_share=0.35)
    assert result.outcome is Outcome.NOT_YET and result.reason.startswith("未回落")
    assert "35%" in result.reason and "10%" in result.reason


def test_not_recovered_while_recent_volume_or_heat_would_open_an_incident() -> None:
    assert check(recent_negative=8, recent_share=0.2).outcome is Outcome.NOT_YET
    assert check(recent_heat=41.0).outcome is Outcome.NOT_YET


def test_a_new_burst_with_a_high_share_is_a_second_wave() -> None:
    result = check(recent_negative=20, recent_share=0.6)
    assert result.outcome is Outcome.SECOND_WAVE and result.reason.startswith("二次爆发")
    assert check(recent_negative=20, recent_share=0.25).outcome is Outcome.NOT_YET, "volume at a normal share"


def test_resolution_needs_the_last_n_checks_recovered() -> None:
    assert consecutive_recovered(["not_yet", "recovered", "recovered", "recovered"], 3)
    assert not consecutive_recovered(["recovered", "not_yet", "recovered", "recovered"], 3)
    assert not consecutive_recovered(["recovered", "recovered"], 3)


def test_review_due_dates_follow_the_level() -> None:
    friday = date(2026, 11, 27)
    assert review_due("I", friday) == date(2026, 11, 30)
    assert review_due("II", friday) == date(2026, 11, 30)
    assert review_due("III", friday) == date(2026, 12, 4), "five working days skip the weekend"
    assert add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)


def test_overdue_steps_are_open_ones_past_their_due_time() -> None:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    past, future = now - timedelta(hours=1), now + timedelta(hours=1)
    steps = [StepView("apology", "李娜", past, "todo", None), StepView("disclosure", "李娜", past, "done", "url"),
             StepView("trust", "李娜", future, "doing", None), StepView("improvement", None, None, "todo", None)]
    assert [s.step for s in overdue(steps, now)] == ["apology"]


def test_report_excludes_drills_and_takes_medians_per_level() -> None:
    facts = [
        IncidentFacts("I", "产品质量", False, {"TTD": 10.0, "TTA": 5.0, "TTR": 600.0}, 200_000, 100),
        IncidentFacts("I", "产品质量", False, {"TTD": 30.0, "TTA": None, "TTR": 1200.0}, 0, 0),
        IncidentFacts("III", "物流配送", False, {"TTD": 60.0, "TTA": 20.0, "TTR": None}, 5_000, 5),
        IncidentFacts("II", "个人信息泄露", True, {"TTD": 1.0, "TTA": 1.0, "TTR": 1.0}, 99_999, 9),
    ]
    report = summarise(facts)
    assert report.incidents == 3 and report.by_level == {"I": 2, "III": 1}
    assert report.by_category == {"产品质量": 2, "物流配送": 1}
    assert report.medians["I"] == {"TTD": 20.0, "TTA": 5.0, "TTR": 900.0}
    assert report.medians["III"]["TTR"] is None
    assert (report.compensation_fen, report.compensated_orders) == (205_000, 105)


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
    assert "- 2025-11-20 10:05　system　**事件开启**：热度 65.3" in text
    assert "- 2025-11-20 10:20　李娜　**custom.action**：说明" in text


def test_review_compensation_in_yuan_with_two_decimals() -> None:
    assert "| 固定金额优惠券 | 1,234 | 1,234,567.89 |" in review()
    assert "| 固定金额优惠券 | 1 | 20.00 |" in review(compensation={"fixed_coupon": (1, 2000)})


def test_review_without_compensation_says_so() -> None:
    text = review(compensation={})
    assert "无补偿记录" in text
    assert "金额（元）" not in text


def test_the_review_says_what_went_well_and_what_to_improve_against_the_targets() -> None:
    from tasks.aftercare.review import Response, assess

    prompt = Response(level="II", durations={"TTD": 25.0, "TTA": 20.0, "TTM": 300.0}, ack_target_minutes=30,
                      detect_target_minutes=60, escalation_tier=0, second_waves=0,
                      steps={"诚恳道歉": "done", "建立信任": "todo"}, overdue_steps=[], compensated_orders=201)
    well, improve = assess(prompt)
    assert "确认接手用时 20 分钟（II 级目标 ≤ 30 分钟）" in well and "已对 201 笔受影响订单完成补偿" in well
    assert improve == ["声誉修复未完成：建立信任"]

    slow = Response(level="I", durations={"TTD": 90.0, "TTA": 45.0, "TTM": None}, ack_target_minutes=10,
                    detect_target_minutes=60, escalation_tier=2, second_waves=1, steps={},
                    overdue_steps=["公开信息"], compensated_orders=0)
    well, improve = assess(slow)
    assert well == []
    assert "确认接手用时 45 分钟（I 级目标 ≤ 10 分钟）" in improve and "发现用时 90 分钟（目标 ≤ 60 分钟）" in improve
    assert any("第 2 梯队" in line for line in improve) and any("二次爆发" in line for line in improve)
    assert "没有记录任何声誉修复步骤（crisis step）" in improve and "逾期的修复步骤：公开信息" in improve
    assert not any("人工立案" in line for line in improve)
    _, improve = assess(replace(prompt, by_hand=True))
    assert "检测规则没有开启本事件，由人工立案：复查词库的类别词和检测阈值，让同类危机能被自动发现" in improve


def test_audit_details_read_as_chinese_sentences_not_key_value() -> None:
    opened = describe("incident.opened", {"level": "IV", "state": "open", "reason": "短期突增：负面 30 条"})
    assert opened == "以 IV 级（一般）开启；原因：短期突增：负面 30 条"
    assert describe("incident.escalated", {"level": "I", "state": "responding", "reason": "热度升至 90.1"}) == \
        "升为 I 级（特别重大）；原因：热度升至 90.1"
    assert describe("incident.monitoring", {"level": "II", "state": "monitoring", "note": "补偿已发放"}) == \
        "状态变为「观察中」；备注：补偿已发放"
    assert describe("incident.acknowledged", {"state": "acknowledged", "acknowledged_by": "李娜"}) == "李娜 接手"
    assert describe("compensation.batch_completed", {"policy": "coupon-20", "applied_orders": 201,
                                                     "amount_fen": 402_000}) == \
        "方案 coupon-20，已补偿 201 笔订单、4,020.00 元"
    assert describe("repair.step_updated", {"step": "apology", "name": "诚恳道歉", "state": "done", "owner": "李娜"}) \
        == "「诚恳道歉」已完成，负责人 李娜"
    everything = [describe(action, {"level": "II", "state": "closed", "reason": "r", "kind": "alert"})
                  for action in ("incident.opened", "incident.closed", "incident.false_alarm", "notification.queued",
                                 "compensation.batch_started", "recovery.cannot_judge")]
    assert not [line for line in everything if re.search(r"\b[a-z_]+=", line)], everything


def test_a_flow_that_acted_is_named_by_its_flow_never_by_its_run_id() -> None:
    run = "flow-run:0b5c2f3e-8a61-4c1e-9d7a-3f2e1b0c9a88"
    assert actor_name(run, {run: "triage-mentions"}) == "系统（舆情研判，triage-mentions 流程）"
    assert actor_name(run, {}) == "系统流程", "a run the API no longer knows"
    assert actor_name("crisis-cli", {}) == "命令行（crisis）" and actor_name("李娜", {}) == "李娜"


def test_the_review_lists_lessons_with_who_and_when_and_says_when_there_are_none() -> None:
    empty = review()
    section = empty.split("## 经验教训")[1].split("##")[0]
    assert "待填写" in section and "lessons" in section and "crisis lesson INC-20251120-001" in section
    text = review(lessons=[Lesson("2025-11-21 09:30", "李娜", "客服口径应在首个小时内统一")])
    section = text.split("## 经验教训")[1].split("##")[0]
    assert "- 客服口径应在首个小时内统一（李娜，2025-11-21 09:30）" in section and "待填写" not in section


def test_repair_step_states_are_chinese() -> None:
    from tasks.aftercare.review import StepRow

    text = review(steps=[StepRow("诚恳道歉", "李娜", "2025-11-20 12:00", "done", "—")])
    assert "| 诚恳道歉 | 李娜 | 2025-11-20 12:00 | 已完成 | — |" in text


def _curve_data() -> tuple[list[datetime], list[int], list[int], list[tuple[datetime, str]]]:
    start = datetime(2026, 11, 29, 0)
    hours = [start + timedelta(hours=h) for h in range(40)]
    volume = [5 + (60 if 12 < h < 20 else 0) for h in range(40)]
    negative = [1 + (40 if 12 < h < 20 else 0) for h in range(40)]
    moments = [(12, 10, "首条负面"), (12, 50, "发现"), (13, 20, "确认接手"), (14, 0, "缓解"), (38, 0, "解决"),
               (39, 30, "关闭")]
    return hours, volume, negative, [(start + timedelta(hours=h, minutes=m), name) for h, m, name in moments]


def test_the_curve_is_labelled_in_chinese_with_a_cjk_font_and_no_missing_glyphs() -> None:
    import warnings

    from tasks.aftercare.chart import curve_png

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s)" would be boxes in the picture
        png = curve_png(*_curve_data())
    assert png.startswith(b"\x89PNG")


def test_the_moments_labels_neither_overlap_nor_leave_the_picture() -> None:
    import matplotlib.pyplot as plt

    from tasks.aftercare.chart import curve_figure

    figure = curve_figure(*_curve_data())
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    labels = [t for t in figure.axes[0].texts if t.get_gid() == "mark"]
    boxes = [t.get_window_extent(renderer) for t in labels]
    plt.close(figure)
    assert [t.get_text() for t in labels] == ["首条负面/发现", "确认接手/缓解", "解决", "关闭"]
    assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
    width, height = figure.bbox.width, figure.bbox.height
    assert all(0 <= b.x0 and b.x1 <= width and 0 <= b.y0 and b.y1 <= height for b in boxes)


def test_without_a_cjk_font_the_chart_fails_in_one_line_instead_of_drawing_boxes() -> None:
    from tasks.charts import ChartFontMissing, cjk_font

    assert cjk_font().name  # .ci/run installs fonts-wqy-zenhei
    with pytest.raises(ChartFontMissing, match="fonts-wqy-zenhei") as failure:
        cjk_font(("No Such CJK Font",))
    assert "\n" not in str(failure.value)
