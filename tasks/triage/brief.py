"""The incident brief (事件简报) as Markdown: why it opened, the trend, top posts, what to do (and, for a
possible rumour, the 辟谣 path with a draft statement). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """Return a one-line chart of the values (empty for none; flat for all equal)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(BARS[0 if span == 0 else round((v - low) / span * (len(BARS) - 1))] for v in values)


@dataclass(frozen=True)
class BriefData:
    key: str
    brand: str
    category: str
    level: str
    level_name: str
    state: str
    heat: float
    reason: str  # escaped by the caller
    detected: str
    owner: str
    hourly_negative: Sequence[int]  # the last 24 hours, oldest first
    top_posts: Sequence[str]  # escaped by the caller
    level_steps: Sequence[str]
    playbook: Sequence[str]
    rumour: str = ""  # "疑似谣言：…" when the incident is a possible rumour, escaped by the caller
    debunk_steps: Sequence[str] = ()  # the 辟谣 path, shown only with `rumour`
    debunk_statement: str = ""  # the draft statement (Markdown, untrusted parts escaped by the caller)


def render_brief(data: BriefData) -> str:
    """Return the brief as Markdown."""
    lines = [
        f"# {data.key} {data.brand}「{data.category}」 {data.level} 级（{data.level_name}）",
        "",
        f"状态 **{data.state}** · 热度 **{data.heat:.1f}** · 发现于 {data.detected} · 负责人 {data.owner}",
        "",
        f"**触发原因**：{data.reason}",
        "",
        *([f"**{data.rumour}**", ""] if data.rumour else []),
        "## 负面声量（最近 24 小时，每小时）",
        "",
        f"`{sparkline(data.hourly_negative)}`  峰值 {max(data.hourly_negative, default=0)} 条/小时，"
        f"最近一小时 {data.hourly_negative[-1] if data.hourly_negative else 0} 条",
        "",
        "## 代表性帖子",
        "",
        *(f"{n}. {post}" for n, post in enumerate(data.top_posts, start=1)),
        "",
        "## 处置步骤",
        "",
        *(f"- [ ] {step}" for step in [*data.level_steps, *data.playbook]),
        "",
        *_rumour_lines(data),
    ]
    return "\n".join(lines)


def _rumour_lines(data: BriefData) -> list[str]:
    if not data.rumour:
        return []
    return [
        "## 辟谣（疑似谣言）",
        "",
        f"**{data.rumour}**",
        "",
        *(f"- [ ] {step}" for step in data.debunk_steps),
        "",
        "### 辟谣声明草稿（核实并附证据、经法务审核后方可发布）",
        "",
        *(f"> {line}" if line else ">" for line in data.debunk_statement.strip().splitlines()),
        "",
    ]
