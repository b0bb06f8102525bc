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


ACTIONS = {
    "incident.opened": "事件开启", "incident.escalated": "事件升级", "incident.acknowledged": "确认接手",
    "incident.responding": "进入处置", "incident.monitoring": "进入舆情回落观察", "incident.resolved": "事件解决",
    "incident.closed": "事件关闭", "notification.queued": "预警邮件入队",
    "compensation.batch_started": "补偿批次开始", "compensation.batch_completed": "补偿批次完成",
}


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} 分钟" if value < 120 else f"{value / 60:.1f} 小时"


def render_review(data: ReviewData) -> str:
    """Return the review as Markdown: summary, metrics, timeline, compensation, top posts."""
    lines = [
        f"# 事件复盘 {data.key}",
        "",
        f"- 品牌：{data.brand}　类别：{data.category}　级别：{data.level} 级（{data.level_name}）　状态：{data.state}",
        f"- 触发原因：{data.trigger_reason}",
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
        "## 时间线（来自审计日志）",
        "",
        "| 时间 | 操作人 | 动作 | 说明 |",
        "|---|---|---|---|",
        *(f"| {e.at} | {e.actor} | {ACTIONS.get(e.action, e.action)} | {e.detail} |" for e in data.timeline),
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
              f"预警邮件共发送 {data.mail_sent} 封。", ""]
    return "\n".join(lines)
