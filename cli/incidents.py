"""`crisis scan | incidents | show | ack | level`: find incidents, look at them, take them on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.options import Now, console, errors, fails_cleanly, parse_time, safe_text


@fails_cleanly
def scan(now: Now = None,
         file: Annotated[Path | None, typer.Option("--file", help="An extra canonical JSONL/CSV file.")] = None) -> None:
    """Run one monitor + triage pass now, through the same flow the schedule runs."""
    from flows.monitor import scan as scan_flow

    if file is not None and not file.is_file():
        raise typer.BadParameter(f"{file}: no such file", param_hint="--file")
    _say_if_no_server()
    result = scan_flow(now=parse_time(now), extra_file=str(file) if file else None)
    console.print(f"read {result['read']} mentions, {result['new']} new, {len(result['bad_rows'])} bad rows")
    for problem in result["bad_rows"][:20]:
        console.print(f"  [yellow]bad row[/yellow] {safe_text(problem)}", highlight=False)
    for change in result["changes"]:
        if change["kind"] != "updated":
            console.print(f"[bold red]{safe_text(change['kind'])}[/bold red] {safe_text(change['incident_key'])} "
                          f"level {safe_text(change['level'])}")


def _say_if_no_server() -> None:
    """Tell the operator, before the wait, why a scan without a Prefect server takes a minute and how not to."""
    from prefect.settings import PREFECT_API_URL

    from config.settings import get_settings
    from tasks.stack import Stack

    if PREFECT_API_URL.value():
        return
    errors.print(f"未设置 PREFECT_API_URL：本次扫描先启动一个临时 Prefect 服务器（约一分钟，每次扫描都重来），所以慢；"
                 f"先 crisis up（或 make up），再设 PREFECT_API_URL={Stack(get_settings()).api_url}，扫描只需数秒",
                 markup=False, highlight=False)


@fails_cleanly
def incidents(limit: int = 30) -> None:
    """List incidents, newest first."""
    from tasks.common import show_time
    from tasks.db import session_scope
    from tasks.incidents.repository import list_incidents

    table = Table("key", "brand", "category", "level", "state", "heat", "detected", "owner")
    with session_scope() as session:
        for i in list_incidents(session, limit):
            table.add_row(*(safe_text(v) for v in (i.key, i.brand, i.category, i.level, i.state)), f"{i.heat:.1f}",
                          show_time(i.detected_at), safe_text(i.acknowledged_by or "—"))
    console.print(table)


@fails_cleanly
def show(key: str) -> None:
    """Show one incident: reason, timestamps, outbox and ledger."""
    from tasks.common import show_time
    from tasks.compensation.repository import batch_totals, batches_of, incident_totals
    from tasks.db import session_scope
    from tasks.incidents.repository import get_incident
    from tasks.notify.repository import notifications_of

    with session_scope() as session:
        i = get_incident(session, key)
        console.print(f"[bold]{safe_text(i.key)}[/bold] {safe_text(i.brand)} · {safe_text(i.category)} · "
                      f"level {i.level} · {i.state} · heat {i.heat}")
        console.print(f"reason: {safe_text(i.trigger_reason)}", highlight=False)
        for name, value in i.stamps().items():
            console.print(f"  {name:16} {show_time(value)}")
        mail = notifications_of(session, i.id)
        console.print(f"mail: {sum(m.status == 'sent' for m in mail)} sent of {len(mail)} queued")
        for kind, (orders, fen) in incident_totals(session, i.id).items():
            console.print(f"compensation: {safe_text(kind)} {orders} orders, {fen / 100:,.2f} 元")
        for b in batches_of(session, i.id):
            console.print(f"  batch {b.id} {safe_text(b.policy)} {safe_text(b.status)}: {b.applied_count} orders, "
                          f"{b.amount_fen / 100:,.2f} 元", highlight=False, soft_wrap=True)
        total = batch_totals(session, i.id, None)
        console.print(f"赔付合计（全部批次）：{total['orders']} 单，{total['amount_fen'] / 100:,.2f} 元，"
                      f"{total['points']} 积分", highlight=False, soft_wrap=True)


@fails_cleanly
def ack(key: str, by: Annotated[str, typer.Option("--by", help="Who takes ownership.")],
        note: str = "", now: Now = None) -> None:
    """Acknowledge an incident (确认接手): audited, and announced as an event."""
    from prefect.events.worker import EventsWorker

    from tasks.common import resolve_now
    from tasks.notify.tasks import acknowledge

    acknowledge(key, by, note, resolve_now(parse_time(now)))
    EventsWorker.drain_all()
    console.print(f"{safe_text(key)} acknowledged by {safe_text(by)}", highlight=False)


@fails_cleanly
def level(key: str, to: Annotated[str, typer.Option("--to", help="I, II, III or IV.")],
          reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")],
          by: Annotated[str, typer.Option("--by", help="Who decides.")], now: Now = None) -> None:
    """Override an incident's level by hand (人工定级), with a reason; audited, announced if higher."""
    from tasks.common import resolve_now
    from tasks.db import session_scope
    from tasks.incidents.repository import get_incident
    from tasks.incidents.service import override_level

    with session_scope() as session:
        incident = get_incident(session, key)
        previous = incident.level
        override_level(session, incident, to.upper(), reason=reason, actor=by, at=resolve_now(parse_time(now)))
    console.print(f"{safe_text(key)}: level {previous} → {safe_text(to.upper())} ({safe_text(reason)})",
                  highlight=False)
