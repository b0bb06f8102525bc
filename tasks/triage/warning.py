"""同类风险预警 (a rival's crisis is our early warning): who is told, what the group robots say, the board's rows.
Pure.

A competitor's mentions never open an incident of ours. When they would, by our own detection rules, the PR
lead (role `pr`) and the owners of our products in the rival's product category (roster `product_categories`)
are told once per competitor × crisis category × local day, with the plan's question. Untrusted text (the
reason quotes a post's excerpt, posts, names from config) is escaped or made inert here and in the templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config.files import Channel, Person, Roster
from tasks.notify.templates import escape_markdown, inert, one_line
from tasks.triage.brief import RULE_SENTENCES

KIND = "competitor_alert"
PR_ROLE = "pr"
QUESTION = "我们的同类产品是否有相同原因（供应商、原料、设计）？"
SENT = "sent"
BOARD_COLUMNS = ("竞品", "类别", "日期", "涉及产品", "触发规则/原因", "热度", "已通知")


@dataclass(frozen=True)
class CompetitorWarning:
    """One competitor alert as people read it."""

    competitor: str
    product_category: str  # the rival's (and our products') category: 厨房电器 …
    category: str  # the crisis category: 人身安全/食品安全 …
    day: str  # YYYY-MM-DD, operators' zone
    products: Sequence[str]  # the rival's products its crisis names
    rule: str  # the first rule that would have fired (detection RULES order)
    reason: str  # every rule's reason, with its numbers
    heat: float
    our_products: Sequence[str]  # ours in the same product category


def dedup_prefix(competitor: str, category: str, day: str) -> str:
    """Return the outbox key prefix of one alert's messages (one per person or robot follows it)."""
    return f"{KIND}:{competitor}:{category}:{day}:"


def rule_label(rule: str) -> str:
    """Return the rule's short Chinese sentence (the rule's name when unknown)."""
    return RULE_SENTENCES.get(rule, rule)


def people_to_warn(roster: Roster, product_category: str) -> list[Person]:
    """Return the PR lead(s) and the owners of our products in the category, each once, roster order."""
    seen: set[str] = set()
    chosen = []
    for person in roster.people:
        wanted = PR_ROLE in person.roles or product_category in person.product_categories
        if wanted and person.email.lower() not in seen:
            seen.add(person.email.lower())
            chosen.append(person)
    return chosen


def robots_to_warn(roster: Roster, people: Sequence[Person]) -> list[tuple[str, Channel]]:
    """Return the group robots (not SMS) whose roles one of the people told holds, in roster order."""
    roles = {role for person in people for role in person.roles}
    return [(name, channel) for name, channel in roster.channels.items()
            if channel.kind != "sms" and roles & set(channel.roles)]


def title(warning: CompetitorWarning) -> str:
    """Return the one-line title of the alert (mail subject and robot card)."""
    return one_line(f"【同类风险预警】竞品{warning.competitor}「{warning.category}」"
                    f"（{warning.product_category}）", 120)


def robot_markdown(warning: CompetitorWarning) -> str:
    """Return the alert as group-robot markdown, every value from config or posts escaped."""
    lines = [f"### {escape_markdown(title(warning))}",
             f"**竞品**：{escape_markdown(warning.competitor)}　**热度**：{warning.heat} / 100",
             f"**涉及产品**：{escape_markdown('、'.join(warning.products) or '—')}",
             f"**触发规则**：{escape_markdown(rule_label(warning.rule))}",
             f"**原因**：{escape_markdown(one_line(warning.reason, 300))}"]
    if warning.our_products:
        lines.append(f"**我们的同类产品**：{escape_markdown('、'.join(warning.our_products))}")
    lines.append(f"**请核查**：{QUESTION}")
    return "\n\n".join(lines)


def robot_body(kind: str, warning: CompetitorWarning) -> dict[str, Any]:
    """Return the JSON body a group robot of `kind` is sent (no @-mention: a warning, not an incident)."""
    heading, markdown = title(warning), robot_markdown(warning)
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": markdown}}
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": heading, "text": markdown},
                "at": {"atMobiles": [], "atUserIds": [], "isAtAll": False}}
    if kind == "feishu":
        return {"msg_type": "interactive", "card": {
            "header": {"title": {"tag": "plain_text", "content": heading}, "template": "orange"},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": markdown}}]}}
    raise ValueError(f"no robot of kind {kind!r}")


def told_cell(told: Sequence[tuple[str, str]], names: Mapping[str, str]) -> str:
    """Return the board's 已通知 cell: who (roster names, `群 <robot>`) and how many were sent so far."""
    if not told:
        return "—（名单中没有公关或该类产品负责人）"
    who = [names.get(recipient.lower()) or f"群 {recipient.partition(':')[2]}" for recipient, _ in told]
    sent = sum(status == SENT for _, status in told)
    return f"{'、'.join(inert(w) for w in who)}（已发送 {sent}/{len(told)}）"


def board_row(warning: CompetitorWarning, told: Sequence[tuple[str, str]], names: Mapping[str, str]) -> dict[str, object]:
    """Return one row of the competitor board (Chinese headers): the reason names each rule that fired, with its
    numbers (post excerpts in it made inert)."""
    cells = (inert(warning.competitor), inert(f"{warning.product_category} · {warning.category}"), warning.day,
             inert("、".join(warning.products) or "—"),
             inert(one_line(warning.reason, 400)), warning.heat,
             told_cell(told, names))
    return dict(zip(BOARD_COLUMNS, cells, strict=True))
