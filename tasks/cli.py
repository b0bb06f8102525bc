"""The `crisis` command line: operate the system without the Prefect UI."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from config.settings import SettingsError, get_settings

app = typer.Typer(help="舆情危机响应 — e-commerce crisis response on Prefect.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
console = Console()
errors = Console(stderr=True, soft_wrap=True)


@app.callback()
def _check_settings() -> None:
    """Validate the configuration before any command (a bad key stops here, named)."""
    try:
        get_settings()
    except SettingsError as exc:
        errors.print(f"[red]configuration error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _fails_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our named errors into one red line and exit code 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tasks.errors import CrisisError
        from tasks.stack import StackError

        try:
            return command(*args, **kwargs)
        except (CrisisError, SettingsError, StackError) as exc:
            errors.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r} (e.g. 2026-11-27T10:00)") from None


NowOption = Annotated[
    str | None, typer.Option("--now", help="The moment to act as (ISO 8601; naive = Asia/Shanghai).")
]


@db_app.command("upgrade")
@_fails_cleanly
def db_upgrade() -> None:
    """Apply database migrations (safe to re-run)."""
    from tasks.db import upgrade_database

    upgrade_database()
    console.print(f"database at head: {get_settings().sqlalchemy_url.split('@')[-1]}")


@app.command()
@_fails_cleanly
def scan(now: NowOption = None,
         file: Annotated[Path | None, typer.Option("--file", help="An extra canonical JSONL/CSV file.")] = None) -> None:
    """Run one monitor + triage pass now, through the same flow the schedule runs."""
    from flows.monitor import scan as scan_flow

    if file is not None and not file.is_file():
        raise typer.BadParameter(f"{file}: no such file", param_hint="--file")
    result = scan_flow(now=_time(now), extra_file=str(file) if file else None)
    console.print(f"read {result['read']} mentions, {result['new']} new, {len(result['bad_rows'])} bad rows")
    for problem in result["bad_rows"][:20]:
        console.print(f"  [yellow]bad row[/yellow] {problem}", highlight=False)
    for change in result["changes"]:
        if change["kind"] != "updated":
            console.print(f"[bold red]{change['kind']}[/bold red] {change['incident_key']} level {change['level']}")


@app.command()
@_fails_cleanly
def incidents(limit: int = 30) -> None:
    """List incidents, newest first."""
    from tasks.common import show_time
    from tasks.db import session_scope
    from tasks.incidents.repository import list_incidents

    table = Table("key", "brand", "category", "level", "state", "heat", "detected", "owner")
    with session_scope() as session:
        for i in list_incidents(session, limit):
            table.add_row(i.key, i.brand, i.category, i.level, i.state, f"{i.heat:.1f}", show_time(i.detected_at),
                          i.acknowledged_by or "—")
    console.print(table)


@app.command()
@_fails_cleanly
def show(key: str) -> None:
    """Show one incident: reason, timestamps, outbox and ledger."""
    from tasks.common import show_time
    from tasks.compensation.repository import incident_totals
    from tasks.db import session_scope
    from tasks.incidents.repository import get_incident
    from tasks.models import Notification

    with session_scope() as session:
        i = get_incident(session, key)
        console.print(f"[bold]{i.key}[/bold] {i.brand} · {i.category} · level {i.level} · {i.state} · heat {i.heat}")
        console.print(f"reason: {i.trigger_reason}", highlight=False)
        for name, value in i.stamps().items():
            console.print(f"  {name:16} {show_time(value)}")
        mail = session.query(Notification).filter_by(incident_id=i.id).all()
        console.print(f"mail: {sum(m.status == 'sent' for m in mail)} sent of {len(mail)} queued")
        for kind, (orders, fen) in incident_totals(session, i.id).items():
            console.print(f"compensation: {kind} {orders} orders, {fen / 100:,.2f} 元")


@app.command()
@_fails_cleanly
def ack(key: str, by: Annotated[str, typer.Option("--by", help="Who takes ownership.")],
        note: str = "", now: NowOption = None) -> None:
    """Acknowledge an incident (确认接手): audited, and announced as an event."""
    from prefect.events.worker import EventsWorker

    from tasks.common import resolve_now
    from tasks.notify.tasks import acknowledge

    acknowledge(key, by, note, resolve_now(_time(now)))
    EventsWorker.drain_all()
    console.print(f"{key} acknowledged by {by}")


@app.command()
@_fails_cleanly
def compensate(key: str, policy: Annotated[str, typer.Option("--policy", help="Policy in config/compensation.toml.")],
               orders: Annotated[Path | None, typer.Option("--orders", help="Orders CSV/XLSX.")] = None,
               apply: Annotated[bool, typer.Option("--apply", help="Write the ledger (default: dry run).")] = False,
               query: Annotated[str | None, typer.Option("--query", help="A named orders query.")] = None,
               orders_format: Annotated[str, typer.Option("--format", help="auto | generic | taobao | jd.")] = "auto",
               notify_customers: Annotated[bool, typer.Option("--notify-customers", help="Queue notices.")] = False,
               by: str = "crisis-cli", note: str = "", now: NowOption = None) -> None:
    """Compensate an incident's customers from an orders file or query (dry run unless --apply)."""
    from flows.compensate import compensate as compensate_flow

    result = compensate_flow(incident_key=key, orders_path=str(orders) if orders else None, orders_query=query,
                             policy=policy, dry_run=not apply, note=note or None, orders_format=orders_format,
                             notify_customers=notify_customers, requested_by=by, now=_time(now))
    console.print(f"{result['status']}: {result['applied']} orders, {result['customers']} customers, "
                  f"{int(result['amount_fen']) / 100:,.2f} 元, {result['points']} points; "
                  f"skipped {json.dumps(result['skipped'], ensure_ascii=False)}; report {result['report_path']}")


@app.command()
@_fails_cleanly
def level(key: str, to: Annotated[str, typer.Option("--to", help="I, II, III or IV.")],
          reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")],
          by: Annotated[str, typer.Option("--by", help="Who decides.")], now: NowOption = None) -> None:
    """Override an incident's level by hand (人工定级), with a reason; audited, announced if higher."""
    from tasks.common import resolve_now
    from tasks.db import session_scope
    from tasks.incidents.repository import get_incident
    from tasks.incidents.service import override_level

    with session_scope() as session:
        incident = get_incident(session, key)
        previous = incident.level
        override_level(session, incident, to.upper(), reason=reason, actor=by, at=resolve_now(_time(now)))
    console.print(f"{key}: level {previous} → {to.upper()} ({reason})")


@audit_app.command("verify")
@_fails_cleanly
def audit_verify() -> None:
    """Walk the audit chain; name the first entry that does not verify."""
    from tasks.audit import verify_chain
    from tasks.db import session_scope

    with session_scope() as session:
        report = verify_chain(session)
    if not report.ok:
        errors.print(f"[red]audit chain broken at entry #{report.broken_seq}:[/red] {report.reason} "
                     f"({report.checked} entries verified before it)", highlight=False)
        raise typer.Exit(1)
    console.print(f"audit chain intact: {report.checked} entries verified")


@app.command()
@_fails_cleanly
def up() -> None:
    """Start the local stack: Prefect server, SMTP sink, deployments, a worker."""
    from tasks.db import upgrade_database
    from tasks.stack import start_stack

    upgrade_database()
    stack = start_stack(first_scan=True)
    console.print(f"stack up: Prefect UI {stack.ui_url}, logs in {stack.var / 'log'}; the first scan is queued")


@app.command()
@_fails_cleanly
def down() -> None:
    """Stop what `crisis up` or `crisis demo` started (nothing else)."""
    from tasks.stack import stop_stack

    stopped = stop_stack()
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@app.command()
@_fails_cleanly
def demo(seed: int | None = None) -> None:
    """Generate a scenario and drive the whole lifecycle through the deployments."""
    from tasks.demo import run_demo
    from tasks.stack import Stack

    result = run_demo(Stack(get_settings()), seed=seed, say=lambda line: console.print(f"· {line}"))
    table = Table("demo summary", "", show_header=True)
    table.add_row("incident", f"{result.incident_key} (level {result.level})")
    table.add_row("e-mails delivered", str(result.mails_delivered))
    table.add_row("orders compensated", f"{result.orders_compensated} ({result.amount_fen / 100:,.2f} 元)")
    table.add_row("review", result.review_path)
    table.add_row("Prefect UI", result.ui_url)
    for note in result.notes:
        table.add_row("note", note)
    console.print(table)


def _register_stage_commands() -> None:
    from tasks.aftercare.cli import close, mitigate, report, step
    from tasks.monitoring.cli import analyze, sentiment_app

    for command in (analyze, mitigate, step, close, report):
        app.command()(_fails_cleanly(command))
    for command in sentiment_app.registered_commands:
        command.callback = _fails_cleanly(command.callback)
    app.add_typer(sentiment_app, name="sentiment")
    from tasks.drills.cli import drill_app, grade, list_, scenarios

    drill_app.registered_callback.callback = _fails_cleanly(drill_app.registered_callback.callback)
    drill_app.command("grade")(_fails_cleanly(grade))
    drill_app.command("list")(_fails_cleanly(list_))
    drill_app.command("scenarios")(_fails_cleanly(scenarios))
    app.add_typer(drill_app, name="drill")


_register_stage_commands()

if __name__ == "__main__":
    app()
