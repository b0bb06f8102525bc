"""Grading a drill's response against its level's targets, and the scorecard people read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import markdown

from tasks.drills.grading import DrillFacts, Targets, grade, render_scorecard
from tasks.notify.templates import escape_markdown

T0 = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
TARGETS = Targets(detect_minutes=60, alert_minutes=10, ack_minutes={"I": 10, "II": 30, "III": 120, "IV": 480},
                  required_steps={"I": ["apology"], "II": ["apology", "disclosure"], "III": ["apology"], "IV": []},
                  pass_score=80)
DONE = DrillFacts(drill_id=1, scenario="quality", title="空气炸锅", expected_level="II", crisis_start=T0,
                  started_at=T0, graded_at=T0 + timedelta(hours=3), compensation_expected=True,
                  incident_key="DRILL-20261120-001", level="II", detected_at=T0 + timedelta(minutes=30),
                  first_alert_at=T0 + timedelta(minutes=32), acknowledged_at=T0 + timedelta(minutes=50),
                  acknowledged_by="李娜", steps={"apology": "done", "disclosure": "done"}, dry_run_batches=1)


def _points(facts: DrillFacts) -> dict[str, int]:
    return {c.name: c.points for c in grade(facts, TARGETS).checks}


def test_a_response_within_every_target_gets_full_marks() -> None:
    result = grade(DONE, TARGETS)
    assert (result.score, result.passed, result.verdict) == (100, True, "合格")


def test_a_late_acknowledgement_gets_half_and_none_gets_nothing() -> None:
    late = replace(DONE, acknowledged_at=DONE.detected_at + timedelta(minutes=31))  # II: 30 minutes
    assert _points(late)["确认接手"] == 12
    assert _points(replace(DONE, acknowledged_at=None))["确认接手"] == 0
    assert grade(replace(DONE, acknowledged_at=None), TARGETS).verdict == "需改进"


def test_the_level_target_follows_the_incident_level() -> None:
    at_iii = replace(DONE, level="III", acknowledged_at=DONE.detected_at + timedelta(minutes=100))
    assert _points(at_iii)["确认接手"] == 25 and _points(at_iii)["定级"] == 5  # one level off


def test_undetected_drill_scores_only_what_needs_no_incident() -> None:
    missed = replace(DONE, incident_key=None, level=None, detected_at=None, first_alert_at=None,
                     acknowledged_at=None, steps={}, dry_run_batches=0)
    result = grade(missed, TARGETS)
    assert result.score == 0 and not result.passed
    assert "未发现" in render_scorecard(missed, result, str, escape_markdown)


def test_repair_steps_score_their_share_and_name_the_missing() -> None:
    half = replace(DONE, steps={"apology": "done", "disclosure": "doing"})
    result = grade(half, TARGETS)
    assert _points(half)["修复步骤"] == 10
    assert "公开信息" in next(c.actual for c in result.checks if c.name == "修复步骤")


def test_compensation_is_checked_only_when_the_scenario_expects_it() -> None:
    assert "补偿演练" not in _points(replace(DONE, compensation_expected=False))
    assert _points(replace(DONE, dry_run_batches=0))["补偿演练"] == 0


def test_the_scorecard_escapes_what_people_typed() -> None:
    sneaky = replace(DONE, acknowledged_by="<img src=x onerror=alert(1)>|*x*")
    text = render_scorecard(sneaky, grade(sneaky, TARGETS), str, escape_markdown)
    html = markdown.markdown(text, extensions=["tables"])
    assert "<img" not in html and "&lt;img" in html and "\\|" in text
    assert "| ✅ 确认接手 | 25/25 | ≤ 30 分钟 | 20.0 分钟 |" in text
