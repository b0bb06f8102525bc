"""Write the review (复盘) of an incident as Markdown. Pure: takes plain data, returns text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


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
    chart: str = ""  # file name of the curve PNG beside the review
    is_drill: bool = False


ACTIONS = {
    "incident.opened": "事件开启", "incident.escalated": "事件升级", "incident.acknowledged": "确认接手",
    "incident.responding": "进入处置", "incident.monitoring": "进入舆情回落观察", "incident.resolved": "事件解决",
    "incident.closed": "事件关闭", "notification.queued": "预警邮件入队",
    "compensation.batch_started": "补偿批次开始", "compensation.batch_completed": "补偿批次完成",
    "incident.level_overridden": "人工定级", "repair.step_updated": "修复步骤更新",
}


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} 分钟" if value < 120 else f"{value / 60:.1f} 小时"


def render_review(data: ReviewData) -> str:
    """Return the review as Markdown: summary, metrics, levels, timeline, curve, repair, compensation,
    top posts and follow-up actions."""
    title = f"# {'【演练】' if data.is_drill else ''}事件复盘 {data.key}"
    lines = [
        title,
        "",
        f"- 品牌：{data.brand}　类别：{data.category}　级别：{data.level} 级（{data.level_name}）　状态：{data.state}",
        f"- 触发原因：{data.trigger_reason}",
        f"- 复盘截止：{data.review_due or '—'}",
        "",
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
        *(f"| {name} | {value} |" for name, value in data.stamps.items()),
        "",
        "## 级别变化",
        "",
        "| 时间 | 级别 | 原因 |",
        "|---|---|---|",
        *(f"| {c.at} | {c.level} | {c.reason} |" for c in data.level_history),
        "",
        "## 声量与情绪曲线",
        "",
        f"![声量与负面曲线]({data.chart})" if data.chart else "（无数据）",
        "",
        "## 时间线（来自审计日志）",
        "",
        "| 时间 | 操作人 | 动作 | 说明 |",
        "|---|---|---|---|",
        *(f"| {e.at} | {e.actor} | {ACTIONS.get(e.action, e.action)} | {e.detail} |" for e in data.timeline),
        "",
        "## 声誉修复",
        "",
        "| 步骤 | 负责人 | 截止 | 状态 | 证据 |",
        "|---|---|---|---|---|",
        *(f"| {s.name} | {s.owner} | {s.due} | {s.state} | {s.evidence} |" for s in data.steps),
        "",
        "## 补偿",
        "",
    ]
    if data.compensation:
        lines += ["| 方式 | 订单数 | 金额（元） |", "|---|---|---|"]
        lines += [f"| {kind} | {n:,} | {fen / 100:,.2f} |" for kind, (n, fen) in data.compensation.items()]
    else:
        lines.append("无补偿记录。")
    lines += ["", "## 代表性帖子", "", *(f"- {p}" for p in data.top_posts), "",
              f"预警邮件共发送 {data.mail_sent} 封。", "", "## 后续改进（改进完善）", "",
              "| 行动 | 负责人 | 截止 |", "|---|---|---|",
              *(f"| {f.action} | {f.owner} | {f.due} |" for f in data.follow_ups), ""]
    return "\n".join(lines)
