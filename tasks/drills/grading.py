"""How a drill's response is graded against its level's targets, and the scorecard people read. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tasks.incidents.state import Level, levels_apart

STEP_NAMES = {
    "apology": "诚恳道歉", "disclosure": "公开信息", "improvement": "改进措施", "compensation": "提供补偿",
    "trust": "建立信任", "monitoring": "监测和反馈",
}


@dataclass(frozen=True)
class Targets:
    detect_minutes: float
    alert_minutes: float
    ack_minutes: Mapping[str, float]
    required_steps: Mapping[str, Sequence[str]]
    pass_score: int


@dataclass(frozen=True)
class DrillFacts:
    """What happened in the drill, as recorded (times aware)."""

    drill_id: int
    scenario: str
    title: str
    expected_level: str
    crisis_start: datetime
    started_at: datetime
    graded_at: datetime
    compensation_expected: bool
    incident_key: str | None = None
    level: str | None = None
    detected_at: datetime | None = None
    first_alert_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    escalation_tier: int = 0
    steps: Mapping[str, str] = field(default_factory=dict)  # step -> state
    dry_run_batches: int = 0
    mails_sent: int = 0


@dataclass(frozen=True)
class Check:
    name: str
    points: int
    max_points: int
    target: str
    actual: str

    @property
    def mark(self) -> str:
        if self.points == self.max_points:
            return "✅"
        return "⚠️" if self.points else "❌"


@dataclass(frozen=True)
class Grade:
    checks: tuple[Check, ...]
    score: int  # percent of the points
    pass_score: int

    @property
    def passed(self) -> bool:
        return self.score >= self.pass_score

    @property
    def verdict(self) -> str:
        return "合格" if self.passed else "需改进"

    def as_dict(self) -> dict[str, object]:
        return {"score": self.score, "passed": self.passed, "verdict": self.verdict,
                "checks": [{"name": c.name, "points": c.points, "max": c.max_points, "target": c.target,
                            "actual": c.actual} for c in self.checks]}


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds() / 60)


def _timed(name: str, points: int, start: datetime | None, end: datetime | None, target: float,
           missing: str) -> Check:
    """Full points within the target, half when late, none when it never happened."""
    took = _minutes(start, end)
    label = f"≤ {target:g} 分钟"
    if took is None:
        return Check(name, 0, points, label, missing)
    return Check(name, points if took <= target else points // 2, points, label, f"{took:.1f} 分钟")


def _level_check(facts: DrillFacts) -> Check:
    if facts.level is None:
        return Check("定级", 0, 10, f"{facts.expected_level} 级", "未定级")
    off = levels_apart(Level(facts.level), Level(facts.expected_level))
    return Check("定级", (10, 5)[off] if off < 2 else 0, 10, f"{facts.expected_level} 级", f"{facts.level} 级")


def _steps_check(facts: DrillFacts, targets: Targets) -> Check:
    required = list(targets.required_steps.get(facts.level or facts.expected_level, ()))
    if not required:
        return Check("修复步骤", 20, 20, "无要求", "—")
    done = [s for s in required if facts.steps.get(s) == "done"]
    missing = [STEP_NAMES.get(s, s) for s in required if s not in done]
    actual = f"{len(done)}/{len(required)} 完成" + (f"（未完成：{'、'.join(missing)}）" if missing else "")
    return Check("修复步骤", round(20 * len(done) / len(required)), 20,
                 "、".join(STEP_NAMES.get(s, s) for s in required), actual)


def grade(facts: DrillFacts, targets: Targets) -> Grade:
    """Grade the response: detection, level, first alert, acknowledgement, repair steps, compensation."""
    level = facts.level or facts.expected_level
    checks = [
        _timed("发现", 20, facts.crisis_start, facts.detected_at, targets.detect_minutes, "未发现"),
        _level_check(facts),
        _timed("通知", 15, facts.detected_at, facts.first_alert_at, targets.alert_minutes, "未送达"),
        _timed("确认接手", 25, facts.detected_at, facts.acknowledged_at, targets.ack_minutes[level], "无人确认"),
        _steps_check(facts, targets),
    ]
    if facts.compensation_expected:
        checks.append(Check("补偿演练", 10 if facts.dry_run_batches else 0, 10, "至少一次补偿试算（dry run）",
                            f"{facts.dry_run_batches} 次"))
    earned, total = sum(c.points for c in checks), sum(c.max_points for c in checks)
    score = round(100 * earned / total) if total else 0
    return Grade(tuple(checks), score, targets.pass_score)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_scorecard(facts: DrillFacts, result: Grade, show_time, escape) -> str:  # type: ignore[no-untyped-def]
    """Return the drill's scorecard as Markdown; `escape` is applied to every recorded free text."""
    lines = [
        f"# 【演练】演练评估 #{facts.drill_id} · {escape(facts.title)}",
        "",
        f"**结论：{result.verdict}（{result.score} 分，合格线 {result.pass_score} 分）**",
        "",
        f"- 场景：`{escape(facts.scenario)}`，预期级别 {facts.expected_level} 级",
        f"- 危机首帖：{show_time(facts.crisis_start)}；演练开始：{show_time(facts.started_at)}；"
        f"评估：{show_time(facts.graded_at)}",
        f"- 演练事件：{escape(facts.incident_key) if facts.incident_key else '未生成'}"
        + (f"（{facts.level} 级）" if facts.level else ""),
        f"- 确认人：{escape(facts.acknowledged_by) if facts.acknowledged_by else '—'}；"
        f"升级梯队：{facts.escalation_tier}；已发送邮件：{facts.mails_sent} 封",
        "",
        "| 检查项 | 得分 | 目标 | 实际 |",
        "|---|---|---|---|",
    ]
    lines += [f"| {c.mark} {c.name} | {c.points}/{c.max_points} | {_cell(c.target)} | {_cell(c.actual)} |"
              for c in result.checks]
    lines += ["", "演练事件不向客户发送任何通知，补偿只做试算，不计入事件报表（crisis report）。", ""]
    return "\n".join(lines)

