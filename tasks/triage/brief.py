"""The incident brief (事件简报) as Markdown: why it opened, the trend, top posts, what to do (and, for a
possible rumour, the 辟谣 path with a draft statement); and the board's one-sentence reason. Pure.

The brief is read by PR and customer-service people: states in Chinese, the trend as bars with the hourly
numbers under them, and the playbook's commands (``crisis …``) kept out of their checklist, in a section of
their own for the person on duty."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

BARS = "▁▂▃▄▅▆▇█"
HOURS_PER_ROW = 12

# One short sentence per detection rule (tasks/triage/detection.py RULES): the numbers stay in the brief
# and in detection_hits, the board says only what happened.
RULE_SENTENCES = {
    "short_spike": "负面短时突增",
    "long_spike": "负面高于往日",
    "critical_terms": "出现风险词",
    "claims": "风险说法扩散",
    "influencer": "高影响力负面帖",
    "viral_post": "负面帖快速扩散",
}

# A command of the playbook: `crisis` and its ASCII words, up to the first Chinese word (or inside （…）).
_COMMAND = re.compile(r"（(crisis(?: [^\s（）\u3000-\u9fff]+)+)）|(crisis(?: [^\s（）\u3000-\u9fff]+)+)")


def sparkline(values: Sequence[float]) -> str:
    """Return a one-line chart of the values (empty for none; flat for all equal)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(BARS[0 if span == 0 else round((v - low) / span * (len(BARS) - 1))] for v in values)


def reason_sentence(rules: Sequence[str], stored_reason: str = "", rumour: bool = False) -> str:
    """Return the board's reason: one short sentence naming the rules that fired, without their numbers
    (the stored reason's own label when no rule is known, e.g. "短期突增"), and 疑似谣言 when marked so."""
    known = [RULE_SENTENCES[r] for r in RULE_SENTENCES if r in rules]
    label = stored_reason.split("：", 1)[0].split("；", 1)[0].strip()[:20]
    parts = ["，".join(known) or label or "规则触发", *(["疑似谣言"] if rumour else [])]
    return "；".join(parts) + "。"


_RULE_START = re.compile(r"；(?=[^；：\s]{2,8}：)")  # where the next rule's reason ("日度异常：…") begins
_POISSON = re.compile(r"[，,]?\s*Poisson p=([0-9.]+(?:e[+-]?\d+)?)", re.IGNORECASE)
_SIGMA = re.compile(r"（σ ([0-9.]+)）")
_OVER_SIGMA = re.compile(r"超过 ([0-9.]+)σ")


def reason_lines(reason: str) -> list[str]:
    """Return a stored trigger reason as people read it: one line per rule, the statistics in words
    ("Poisson p=2.2e-42" -> "纯属偶然的可能性不到万分之一", "（σ 0.7）" -> "（标准差 0.7）")."""
    def chance(found: re.Match[str]) -> str:
        p = float(found.group(1))
        return "，纯属偶然的可能性" + ("不到万分之一" if p < 1e-4 else f"约 {p:.2%}")

    text = _OVER_SIGMA.sub(r"高出 \1 个标准差", _SIGMA.sub(r"（标准差 \1）", _POISSON.sub(chance, reason)))
    return [line.strip() for line in _RULE_START.split(text) if line.strip()]


def split_command(step: str, key: str = "") -> tuple[str, str]:
    """Return the step without its command, and the command (`KEY` filled in with the incident's key),
    e.g. "评估并启动补偿方案（crisis compensate）" -> ("评估并启动补偿方案", "crisis compensate")."""
    found = _COMMAND.search(step)
    if found is None:
        return step, ""
    command = (found.group(1) or found.group(2)).rstrip("，。；、 ")
    text = (step[:found.start()].rstrip() + step[found.end():].lstrip()).strip("，；、 ")
    return text, command.replace("KEY", key) if key else command


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
    hour_labels: Sequence[str]  # the hour each count starts at, on screen ("14时"), beside hourly_negative
    top_posts: Sequence[str]  # escaped by the caller
    level_steps: Sequence[str]
    playbook: Sequence[str]
    rumour: str = ""  # "疑似谣言：…" when the incident is a possible rumour, escaped by the caller
    debunk_steps: Sequence[str] = ()  # the 辟谣 path, shown only with `rumour`
    debunk_statement: str = ""  # the draft statement (Markdown, untrusted parts escaped by the caller)


def render_brief(data: BriefData) -> str:
    """Return the brief as Markdown."""
    steps = [split_command(step, data.key) for step in [*data.level_steps, *data.playbook]]
    debunk = [split_command(step, data.key) for step in data.debunk_steps] if data.rumour else []
    commands = list(dict.fromkeys(command for _, command in [*steps, *debunk] if command))
    lines = [
        f"# {data.key} {data.brand}「{data.category}」 {data.level} 级（{data.level_name}）",
        "",
        f"状态 **{data.state}** · 热度 **{data.heat:.1f}** · 发现于 {data.detected} · 负责人 {data.owner}",
        "",
        *_reason_lines(data.reason),
        *([f"**{data.rumour}**", ""] if data.rumour else []),
        "## 负面声量（最近 24 小时，每小时）",
        "",
        *trend_lines(data.hourly_negative, data.hour_labels),
        "",
        "## 代表性帖子",
        "",
        *(f"{n}. {post}" for n, post in enumerate(data.top_posts, start=1)),
        "",
        "## 处置步骤",
        "",
        *(f"- [ ] {text}" for text, _ in steps if text),
        "",
        *_rumour_lines(data, [text for text, _ in debunk if text]),
        *_command_lines(commands),
    ]
    return "\n".join(lines)


def trend_lines(hourly: Sequence[int], labels: Sequence[str]) -> list[str]:
    """Return the trend as bars, a one-line summary, and the hourly numbers in tables of 12 hours."""
    if not hourly or not any(hourly):
        return ["最近 24 小时没有负面帖子。"]
    peak = max(hourly)
    lines = [f"`{sparkline(hourly)}`", "",
             f"峰值 **{peak}** 条/小时（{labels[hourly.index(peak)]}），最近一小时 **{hourly[-1]}** 条，"
             f"24 小时共 {sum(hourly):,} 条。", ""]
    for start in range(0, len(hourly), HOURS_PER_ROW):
        hours, counts = labels[start:start + HOURS_PER_ROW], hourly[start:start + HOURS_PER_ROW]
        lines += ["| 时段 | " + " | ".join(hours) + " |", "|---" * (len(hours) + 1) + "|",
                  "| 负面（条） | " + " | ".join(str(n) for n in counts) + " |", ""]
    return lines[:-1]


def _reason_lines(reason: str) -> list[str]:
    lines = reason_lines(reason)
    if len(lines) <= 1:
        return [f"**触发原因**：{''.join(lines)}", ""]
    return ["**触发原因**：", "", *(f"- {line}" for line in lines), ""]


def _command_lines(commands: Sequence[str]) -> list[str]:
    if not commands:
        return []
    return ["## 值班人员操作（命令行，公关与客服无需操作）", "",
            *(f"- `{command}`" for command in commands), ""]


def _rumour_lines(data: BriefData, steps: Sequence[str]) -> list[str]:
    if not data.rumour:
        return []
    return [
        "## 辟谣（疑似谣言）",
        "",
        f"**{data.rumour}**",
        "",
        *(f"- [ ] {step}" for step in steps),
        "",
        "### 辟谣声明草稿（核实并附证据、经法务审核后方可发布）",
        "",
        *(f"> {line}" if line else ">" for line in data.debunk_statement.strip().splitlines()),
        "",
    ]
