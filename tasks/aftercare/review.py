"""Write the review (复盘) of an incident as Markdown. Pure: takes plain data, returns text.

Everything in it is for people: audit entries become Chinese sentences (never `level=IV；state=…`, see
timeline.py), a flow that acted is named by its flow, and the 经验教训 responders write before the review
is final have their own section (待填写 while there are none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tasks.aftercare.timeline import ACTIONS, STEP_STATES, level_label
from tasks.incidents.state import Level


@dataclass(frozen=True)
class TimelineEntry:
    at: str
    actor: str
    action: str
    detail: str


@dataclass(frozen=True)
class LevelChange:
    at: str
    level: str
    reason: str  # escaped by the caller


@dataclass(frozen=True)
class StepRow:
    name: str
    owner: str
    due: str
    state: str
    evidence: str


@dataclass(frozen=True)
class Lesson:
    at: str
    by: str  # escaped by the caller
    text: str  # escaped by the caller


@dataclass(frozen=True)
class FollowUp:
    action: str
    owner: str
    due: str


@dataclass(frozen=True)
class ReviewData:
    key: str
    brand: str
    category: str
    level: str
    level_name: str
    state: str
    trigger_reason: str
    stamps: Mapping[str, str]
    durations: Mapping[str, float | None]
    timeline: Sequence[TimelineEntry]
    compensation: Mapping[str, tuple[int, int]]  # kind -> (orders, fen)
    top_posts: Sequence[str]  # already escaped for markdown
    mail_sent: int
    level_history: Sequence[LevelChange] = ()
    steps: Sequence[StepRow] = ()
    follow_ups: Sequence[FollowUp] = ()
    review_due: str = ""
    chart: str = ""  # where the curve PNG is: its file name beside the review (the caller may swap in a data: URI)
    is_drill: bool = False
    summary: Sequence[str] = ()  # 概要: impact in numbers, escaped by the caller
    went_well: Sequence[str] = ()
    to_improve: Sequence[str] = ()
    lessons: Sequence[Lesson] = ()


@dataclass(frozen=True)
class Response:
    """What the assessment compares with the plan's targets."""

    level: str
    durations: Mapping[str, float | None]
    ack_target_minutes: float
    detect_target_minutes: float
    escalation_tier: int
    second_waves: int
    steps: Mapping[str, str]  # step name (Chinese) -> state
    overdue_steps: Sequence[str]
    compensated_orders: int
    insufficient_checks: int = 0  # recovery checks without enough evidence to judge
    by_hand: bool = False  # a person opened it (人工立案): no rule did


def assess(r: Response) -> tuple[list[str], list[str]]:
    """Return what went well and what to improve, each line naming the figure and the target it was held to."""
    well: list[str] = []
    improve: list[str] = []
    ttd, tta, ttm = (r.durations.get(k) for k in ("TTD", "TTA", "TTM"))
    if ttd is not None:
        line = f"发现用时 {_minutes(ttd)}（目标 ≤ {_minutes(r.detect_target_minutes)}）"
        (well if ttd <= r.detect_target_minutes else improve).append(line)
    if r.by_hand:
        improve.append("检测规则没有开启本事件，由人工立案：复查词库的类别词和检测阈值，让同类危机能被自动发现")
    if tta is None:
        improve.append("无人确认接手")
    else:
        line = f"确认接手用时 {_minutes(tta)}（{r.level} 级目标 ≤ {_minutes(r.ack_target_minutes)}）"
        (well if tta <= r.ack_target_minutes else improve).append(line)
    if r.escalation_tier:
        improve.append(f"未在时限内确认，预警升级至第 {r.escalation_tier} 梯队：检查值班与联系方式")
    if ttm is not None:
        well.append(f"{_minutes(ttm)}内缓解")
    if r.second_waves:
        improve.append(f"回落观察中出现 {r.second_waves} 次二次爆发：复查处置措施是否到位")
    elif ttm is not None:
        well.append("回落观察期间未出现二次爆发")
    if r.insufficient_checks:
        improve.append(f"回落观察中 {r.insufficient_checks} 次检查数据不足、无法判断：复查数据来源与品牌的监测覆盖")
    done = [name for name, state in r.steps.items() if state == "done"]
    if done:
        well.append(f"声誉修复已完成：{'、'.join(done)}")
    missing = [name for name, state in r.steps.items() if state not in ("done", "skipped")]
    if missing:
        improve.append(f"声誉修复未完成：{'、'.join(missing)}")
    if r.overdue_steps:
        improve.append(f"逾期的修复步骤：{'、'.join(r.overdue_steps)}")
    if not r.steps:
        improve.append("没有记录任何声誉修复步骤（crisis step）")
    if r.compensated_orders:
        well.append(f"已对 {r.compensated_orders:,} 笔受影响订单完成补偿")
    return well, improve


COMPENSATION_KINDS = {"full_refund": "全额退款", "partial_refund": "部分退款", "fixed_coupon": "固定金额优惠券",
                      "percent_coupon": "比例优惠券", "points": "积分"}
STAMP_NAMES = {"started_at": "开始（首条负面）", "detected_at": "发现", "acknowledged_at": "确认接手",
               "mitigated_at": "缓解", "resolved_at": "解决", "closed_at": "关闭"}


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} 分钟" if value < 120 else f"{value / 60:.1f} 小时"


def render_review(data: ReviewData) -> str:
    """Return the review as Markdown: summary, lessons, metrics, levels, timeline, curve, repair,
    compensation, top posts and follow-up actions. Long text (reasons, notes) goes in lists, which wrap,
    never in table cells, which the Prefect UI keeps on one line."""
    title = f"# {'【演练】' if data.is_drill else ''}事件复盘 {data.key}"
    lines = [
        title,
        "",
        f"- 品牌：{data.brand}　类别：{data.category}　级别：{data.level} 级（{data.level_name}）　状态：{data.state}",
        f"- 触发原因：{data.trigger_reason}",
        f"- 复盘截止：{data.review_due or '—'}",
        "",
        "## 概要",
        "",
        *(f"- {line}" for line in data.summary or ("—",)),
        "",
        "### 做得好的",
        "",
        *(f"- {line}" for line in data.went_well or ("—",)),
        "",
        "### 需要改进的",
        "",
        *(f"- {line}" for line in data.to_improve or ("—",)),
        "",
        *_lesson_lines(data),
        "## 关键时间指标",
        "",
        "| 指标 | 含义 | 数值 |",
        "|---|---|---|",
        f"| TTD | 开始 → 发现 | {_minutes(data.durations.get('TTD'))} |",
        f"| TTA | 发现 → 确认 | {_minutes(data.durations.get('TTA'))} |",
        f"| TTM | 发现 → 缓解 | {_minutes(data.durations.get('TTM'))} |",
        f"| TTR | 发现 → 解决 | {_minutes(data.durations.get('TTR'))} |",
        "",
        "| 时间点 | 北京时间 |",
        "|---|---|",
        *(f"| {STAMP_NAMES.get(name, name)} | {value} |" for name, value in data.stamps.items()),
        "",
        "## 级别变化",
        "",
        *(f"- {c.at}　{c.reason or (level_label(c.level) if c.level in tuple(Level) else '—')}"
          for c in data.level_history),
        "",
        "## 声量与情绪曲线",
        "",
        f"![声量与负面曲线]({data.chart})" if data.chart else "（无数据）",
        "",
        "## 时间线（来自审计日志）",
        "",
        *(f"- {e.at}　{e.actor}　**{ACTIONS.get(e.action, e.action)}**" + (f"：{e.detail}" if e.detail else "")
          for e in data.timeline),
        "",
        "## 声誉修复",
        "",
        *_step_lines(data.steps),
        "",
        "## 补偿",
        "",
    ]
    if data.compensation:
        lines += ["| 方式 | 订单数 | 金额（元） |", "|---|---|---|"]
        lines += [f"| {COMPENSATION_KINDS.get(kind, kind)} | {n:,} | {fen / 100:,.2f} |"
                  for kind, (n, fen) in data.compensation.items()]
    else:
        lines.append("无补偿记录。")
    lines += ["", "## 代表性帖子", "", *(f"- {p}" for p in data.top_posts), "",
              f"预警邮件共发送 {data.mail_sent} 封。", "", "## 后续改进（改进完善）", "",
              "| 行动 | 负责人 | 截止 |", "|---|---|---|",
              *(f"| {f.action} | {f.owner} | {f.due} |" for f in data.follow_ups), ""]
    return "\n".join(lines)


def _step_lines(steps: Sequence[StepRow]) -> list[str]:
    if not steps:
        return ["没有记录修复步骤。"]
    return ["| 步骤 | 负责人 | 截止 | 状态 | 证据 |", "|---|---|---|---|---|",
            *(f"| {s.name} | {s.owner} | {s.due} | {STEP_STATES.get(s.state, s.state)} | {s.evidence} |"
              for s in steps)]


def _lesson_lines(data: ReviewData) -> list[str]:
    """Return the 经验教训 section: what responders wrote, with who and when; 待填写 while there is nothing."""
    lines = ["## 经验教训", ""]
    if not data.lessons:
        return [*lines, f"待填写：复盘定稿（事件关闭）前，处置人员在 Prefect 界面运行「lessons」表单填写，"
                        f"或用命令行 `crisis lesson {data.key} --by 姓名 --text …`。", ""]
    return [*lines, *(f"- {lesson.text}（{lesson.by}，{lesson.at}）" for lesson in data.lessons), ""]
