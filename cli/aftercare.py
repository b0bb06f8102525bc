"""`crisis mitigate | step | lesson | close | report`: after-action work from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.options import By, Key, Now, console, fails_cleanly, parse_time, safe_text
from tasks.incidents.state import RESOLUTION_NAMES, Resolution, opened_by_hand


@fails_cleanly
def mitigate(key: Key, by: By, note: Annotated[str, typer.Option(help="备注（记入审计日志）。")] = "",
             now: Now = None) -> None:
    """标记事件已缓解：事件转为观察中，并监测其恢复情况。"""
    from tasks.aftercare.tasks import mitigate_incident
    from tasks.common import resolve_now

    mitigate_incident(key, by, note, resolve_now(parse_time(now)))
    console.print(f"{safe_text(key)}：已缓解，转为观察中（after-action 监测其恢复）", highlight=False)


@fails_cleanly
def step(key: Key, name: Annotated[str, typer.Argument(
             help="修复步骤：apology 诚恳道歉；disclosure 公开信息；improvement 改进措施；"
                  "compensation 提供补偿；trust 建立信任；monitoring 监测和反馈。")],
         by: By,
         state: Annotated[str | None, typer.Option(
             help="步骤状态：todo 待办；doing 进行中；done 已完成；skipped 已跳过。新步骤为 todo。")] = None,
         owner: Annotated[str | None, typer.Option(help="负责人姓名。")] = None,
         due: Annotated[str | None, typer.Option(
             help="截止时间（ISO 8601，不带时区即 Asia/Shanghai 北京时间）。")] = None,
         evidence: Annotated[str | None, typer.Option(help="佐证链接：已发布的致歉声明、公告等。")] = None,
         now: Now = None) -> None:
    """设置一项声誉修复步骤的状态、负责人、截止时间或佐证。

    声誉修复六步：诚恳道歉、公开信息、改进措施、提供补偿、建立信任、监测和反馈。"""
    from tasks.aftercare.repository import set_step
    from tasks.common import resolve_now
    from tasks.db import session_scope
    from tasks.incidents.repository import get_incident

    with session_scope() as session:
        row = set_step(session, get_incident(session, key), name, actor=by, at=resolve_now(parse_time(now)),
                       state=state, owner=owner, due_at=parse_time(due), evidence=evidence)
        console.print(f"{safe_text(key)}: {safe_text(name)} {safe_text(row.state)} (owner {safe_text(row.owner or '—')})",
                      highlight=False)


@fails_cleanly
def lesson(key: Key, by: By,
           text: Annotated[str, typer.Option("--text", help="一条经验或教训（多条请分次填写）。")],
           now: Now = None) -> None:
    """为事件复盘添加一条经验教训（事件关闭前均可添加）。

    复盘中会列出每条经验教训及其填写人和时间。"""
    from tasks.aftercare.review_tasks import add_lesson
    from tasks.common import resolve_now

    result = add_lesson(key, by, text, resolve_now(parse_time(now)))
    said = "已记录经验教训" if result.added else "这条经验教训已记录过"
    later = ("复盘已生成：在 Prefect 界面重新运行 review 部署（或改用 lessons 表单）即可在复盘中看到"
             if result.review_written else "复盘生成时将列出")
    console.print(f"{safe_text(key)}：{said}（共 {result.count} 条，填写人 {safe_text(by)}）；{later}", highlight=False)


@fails_cleanly
def close(key: Key, by: By,
          note: Annotated[str, typer.Option(help="备注，记入审计日志。 不填记为“复盘已通过”；用 --as 时改用 --reason。")] = "",
          as_: Annotated[Resolution | None, typer.Option(
              "--as", help="立即关闭进行中的事件：unfounded 谣言，通过辟谣处理；"
                           "false_alarm 误报，记录触发的规则供调优。")] = None,
          reason: Annotated[str | None, typer.Option(help="为何不构成危机（用 --as 时必填）。")] = None,
          now: Now = None) -> None:
    """关闭事件：已解决且复盘通过，或用 --as 按谣言/误报关闭。

    --as unfounded（谣言）或 --as false_alarm（误报）：立即关闭一个不构成危机的进行中事件。"""
    from tasks.common import resolve_now

    at = resolve_now(parse_time(now))
    if as_ is None:
        if reason is not None:
            raise typer.BadParameter("--reason goes with --as unfounded|false_alarm (use --note otherwise)")
        from tasks.aftercare.tasks import close_incident

        close_incident(key, by, note, at)
        console.print(f"{safe_text(key)}：已关闭，关闭人 {safe_text(by)}", highlight=False)
        return
    from tasks.aftercare.tasks import after_dismissal, dismiss_incident

    done = dismiss_incident(key, as_, reason or "", by, at)
    console.print(f"{safe_text(key)}：已按 {RESOLUTION_NAMES[as_]} 关闭（--as {as_.value}），关闭人 {safe_text(by)}",
                  highlight=False)
    if as_ is Resolution.FALSE_ALARM:
        console.print("触发的规则：" + ("、".join(rule_name(r) for r in done.rules) or "—"), highlight=False)
    console.print(after_dismissal(), highlight=False, soft_wrap=True)
    if done.told:
        console.print(f"解除通知已加入发件箱（{len(done.told)} 人：此前收到预警、升级或进展通报的人），由通知流程的下一次巡检发出",
                      highlight=False, soft_wrap=True)


@fails_cleanly
def report(since: Annotated[str, typer.Option("--since", help="起始日期（YYYY-MM-DD，按 Asia/Shanghai 北京时间）。")]) -> None:
    """Metrics across incidents since a day: counts by level and category, median TTD/TTA/TTR, compensation,
    and the incidents closed as unfounded (谣言) or false alarms (误报) with the rules that fired."""
    from tasks.aftercare.report import IncidentFacts, summarise
    from tasks.compensation.repository import incident_totals
    from tasks.db import session_scope
    from tasks.incidents.repository import fired_rules, incidents_detected_since
    from tasks.incidents.state import durations

    start = parse_time(since + "T00:00")
    with session_scope() as session:
        facts = []
        for i in incidents_detected_since(session, start):
            totals = incident_totals(session, i.id).values()
            rules = tuple(fired_rules(session, i.id))
            facts.append(IncidentFacts(i.level, i.category, i.is_drill, durations(i.stamps()),
                                       sum(t[1] for t in totals), sum(t[0] for t in totals), i.resolution, rules,
                                       opened_by_hand(i.trigger_reason)))
    result = summarise(facts)
    table = Table("级别", "事件数", "发现用时中位数（分钟）", "确认用时中位数（分钟）", "解决用时中位数（小时）")
    for level, medians in result.medians.items():
        ttr = medians["TTR"]
        table.add_row(level, str(result.by_level[level]), _fmt(medians["TTD"]), _fmt(medians["TTA"]),
                      _fmt(ttr / 60 if ttr is not None else None))
    console.print(f"自 {since} 起共 {result.incidents} 个事件（不含演练）")
    console.print(table)
    console.print("按类别：" + ("、".join(f"{safe_text(k)} {v}" for k, v in result.by_category.items()) or "—"),
                  highlight=False)
    console.print(f"补偿：{result.compensated_orders:,} 单，{result.compensation_fen / 100:,.2f} 元")
    console.print(f"不构成危机（未计入上表）：谣言 {result.unfounded} 个，误报 {result.false_alarms} 个")
    console.print(f"人工立案（规则未开启，计入上表）：{result.by_hand} 个" + ("：检测规则漏掉的危机，可据此调整词库和规则"
                                                                       if result.by_hand else ""))
    if result.false_alarm_rules:
        console.print("误报按触发规则：" + "、".join(f"{rule_name(rule)} {n}" for rule, n in result.false_alarm_rules.items()),
                      highlight=False)
    if result.rule_outcomes:
        rules = Table("检测规则", "事件数", "危机", "谣言", "误报", "误报占比", title="检测规则表现",
                      caption="事件数：规则开启或参与的事件；危机：确属危机或尚未结案")
        rules.columns[0].no_wrap = True
        for rule, ended in result.rule_outcomes.items():
            fired = sum(ended.values())
            rules.add_row(rule_name(rule), str(fired), str(ended["crisis"]), str(ended["unfounded"]),
                          str(ended["false_alarm"]), f"{ended['false_alarm'] / fired:.0%}")
        console.print(rules)


def rule_name(rule: str) -> str:
    """Return a detection rule as people read it, with the name config/detection.toml knows it by: 负面短时突增（short_spike）."""
    from tasks.triage.brief import RULE_SENTENCES

    return f"{RULE_SENTENCES[rule]}（{rule}）" if rule in RULE_SENTENCES else safe_text(rule)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"
