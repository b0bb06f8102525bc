"""The review's timeline as people read it: audit entries as Chinese sentences (never `level=IV；state=…`)
and who acted — a person by name, a flow run by its flow's name, never a run id. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tasks.incidents.state import LEVEL_NAMES, RESOLUTION_NAMES, Level, Resolution, state_name

LESSON_ACTION = "review.lesson_added"  # a 经验教训 added to the review (its text in `after`)

ACTIONS = {
    "incident.opened": "事件开启", "incident.escalated": "事件升级", "incident.acknowledged": "确认接手",
    "incident.responding": "进入处置", "incident.monitoring": "进入舆情回落观察", "incident.resolved": "事件解决",
    "incident.closed": "事件关闭", "incident.unfounded": "按谣言（不实）关闭", "incident.false_alarm": "按误报关闭",
    "incident.rumour_marked": "标记疑似谣言", "incident.rumour_cleared": "取消疑似谣言标记",
    "incident.level_overridden": "人工定级", "incident.dismissal_overruled": "推翻误报/谣言关闭", "notification.queued": "邮件入队", "notification.escalated": "预警升级",
    "notification.failed": "邮件投递失败", "compensation.batch_started": "补偿批次开始",
    "compensation.batch_approved": "补偿批次获批", "compensation.batch_rejected": "补偿批次被驳回",
    "compensation.batch_completed": "补偿批次完成", "compensation.batch_interrupted": "补偿批次中断",
    "repair.step_updated": "修复步骤更新", "recovery.cannot_judge": "无法判断恢复情况",
    LESSON_ACTION: "填写经验教训",
}
MAIL_KINDS = {"alert": "预警", "status": "进展通报", "compensation_notice": "补偿通知", "review": "复盘报告",
              "escalation": "升级预警", "undeliverable": "无法送达通知", "dismissed": "解除通知", "apology": "致歉声明草稿",
              "announcement": "公开说明草稿"}
STEP_STATES = {"todo": "待办", "doing": "进行中", "done": "已完成", "skipped": "已跳过"}
# The flows that act on incidents, as the timeline names them (the flow's own name is shown beside).
FLOW_TITLES = {"scan": "舆情监测", "triage-mentions": "舆情研判", "notify": "预警通知", "acknowledge": "确认接手",
               "compensate": "补偿", "after-action": "回落监测", "review": "复盘", "drill": "演练",
               "drill-grade": "演练评分", "lessons": "经验教训"}
CLI_ACTOR = "crisis-cli"
RUN_PREFIX = "flow-run:"


def level_label(level: str) -> str:
    """Return "II 级（重大）"."""
    return f"{level} 级（{LEVEL_NAMES[Level(level)]}）"


def actor_name(actor: str, flows: Mapping[str, str]) -> str:
    """Return who acted as people read it: a person's name as it is, a flow run as its flow's name
    (`flows`: run actor -> flow name), the command line as such; never a run id."""
    if actor == CLI_ACTOR:
        return "命令行（crisis）"
    if not actor.startswith(RUN_PREFIX):
        return actor
    flow = flows.get(actor)
    if flow is None:
        return "系统流程"
    return f"系统（{FLOW_TITLES[flow]}，{flow} 流程）" if flow in FLOW_TITLES else f"系统（{flow} 流程）"


def _yuan(fen: Any) -> str:
    return f"{int(fen) / 100:,.2f} 元"


def _with(text: str, extra: Any, label: str = "") -> str:
    extra = str(extra or "").strip()
    return f"{text}；{label}{extra}" if text and extra else text or (f"{label}{extra}" if extra else "")


def describe(action: str, after: Mapping[str, Any]) -> str:
    """Return one audit entry's change as a Chinese sentence (the caller escapes it)."""
    reason, note = after.get("reason"), after.get("note")
    level = level_label(after["level"]) if after.get("level") in tuple(Level) else ""
    if action == "incident.opened":
        return _with(f"以 {level}开启" if level else "", reason, "原因：")
    if action == "incident.escalated":
        return _with(f"升为 {level}", reason, "原因：")
    if action == "incident.level_overridden":
        return _with(f"人工定为 {level}", reason, "理由：")
    if action in ("incident.unfounded", "incident.false_alarm"):
        name = RESOLUTION_NAMES[Resolution(action.removeprefix("incident."))]
        rules = "、".join(after.get("rules") or [])
        return _with(_with(f"按「{name}」关闭", reason, "理由："), rules, "触发的规则：")
    if action == "incident.dismissal_overruled":
        return "；".join(f"并入 {key} 的 {n} 条帖子" for key, n in (after.get("from") or {}).items())
    if action == "incident.acknowledged" and after.get("acknowledged_by"):
        return _with(f"{after['acknowledged_by']} 接手", note, "备注：")
    if action.startswith("incident.") and after.get("state"):
        return _with(f"状态变为「{state_name(after['state'])}」", note or reason, "备注：")
    if action.startswith("compensation."):
        return _compensation(action, after)
    if action.startswith("notification."):
        return _notification(action, after)
    if action == "repair.step_updated":
        owner = f"，负责人 {after['owner']}" if after.get("owner") else ""
        return f"「{after.get('name', '')}」{STEP_STATES.get(after.get('state', ''), '')}{owner}"  # evidence: the table
    if action == LESSON_ACTION:
        return "见「经验教训」"
    return _with("", reason or note)


def _compensation(action: str, after: Mapping[str, Any]) -> str:
    note = after.get("note")
    policy = f"方案 {after['policy']}" if after.get("policy") else ""
    if action == "compensation.batch_started":
        planned = f"，计划 {after.get('planned_orders', 0):,} 笔订单、{_yuan(after.get('planned_fen', 0))}"
        trial = "（试算，不发放）" if after.get("dry_run") else ""
        approval = "，金额超过审批额度，等待审批" if after.get("needs_approval") else ""
        return _with(policy + planned + trial + approval, note, "备注：")
    if action == "compensation.batch_completed":
        return f"{policy}，已补偿 {after.get('applied_orders', 0):,} 笔订单、{_yuan(after.get('amount_fen', 0))}"
    if action == "compensation.batch_interrupted":
        return _with("补偿批次中断", after.get("why"), "原因：")
    return _with("", note, "备注：")


def _notification(action: str, after: Mapping[str, Any]) -> str:
    if action == "notification.escalated":
        return f"升级至第 {after.get('escalation_tier', '?')} 梯队（{after.get('tier', '')}）"
    if action == "notification.failed":
        return f"{after.get('failed', 0)} 封邮件投递失败，已通知相关人员"
    kind = MAIL_KINDS.get(str(after.get("kind", "")), "邮件")
    count = len(after.get("recipients") or []) or after.get("customers") or 0
    return f"{kind}，{count:,} 位收件人" if count else kind


