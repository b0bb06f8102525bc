"""`crisis mitigate | step | close | report`: after-action work from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.options import By, Now, console, fails_cleanly, parse_time


@fails_cleanly
def mitigate(key: str, by: By, note: str = "", now: Now = None) -> None:
    """Mark an incident mitigated (缓解): it moves to monitoring and its recovery is watched."""
    from tasks.aftercare.tasks import mitigate_incident
    from tasks.common import resolve_now

    mitigate_incident(key, by, note, resolve_now(parse_time(now)))
    console.print(f"{key}: monitoring")


@fails_cleanly
def step(key: str, name: Annotated[str, typer.Argument(help="apology | disclosure | improvement | compensation | "
                                                               "trust | monitoring")],
         by: By, state: str | None = None, owner: str | None = None,
         due: Annotated[str | None, typer.Option(help="Due time (ISO 8601; naive = Asia/Shanghai).")] = None,
         evidence: Annotated[str | None, typer.Option(help="A link to the published apology, notice …")] = None,
         now: Now = None) -> None:
    """Set a reputation-repair step (诚恳道歉, 公开信息, 改进措施, 提供补偿, 建立信任, 监测和反馈)."""
    from tasks.aftercare.repository import set_step
    from tasks.common import resolve_now
    from tasks.db import session_scope
    from tasks.incidents.repository import get_incident

    with session_scope() as session:
        row = set_step(session, get_incident(session, key), name, actor=by, at=resolve_now(parse_time(now)),
                       state=state, owner=owner, due_at=parse_time(due), evidence=evidence)
        console.print(f"{key}: {name} {row.state} (owner {row.owner or '—'})")


@fails_cleanly
def close(key: str, by: By, note: str = "", now: Now = None) -> None:
    """Close a resolved incident once its review is accepted (复盘通过)."""
    from tasks.aftercare.tasks import close_incident
    from tasks.common import resolve_now

    close_incident(key, by, note, resolve_now(parse_time(now)))
    console.print(f"{key}: closed by {by}")


@fails_cleanly
def report(since: Annotated[str, typer.Option("--since", help="First day (YYYY-MM-DD, Asia/Shanghai).")]) -> None:
    """Metrics across incidents since a day: counts by level and category, median TTD/TTA/TTR, compensation."""
    from tasks.aftercare.report import IncidentFacts, summarise
    from tasks.compensation.repository import incident_totals
    from tasks.db import session_scope
    from tasks.incidents.repository import incidents_detected_since
    from tasks.incidents.state import durations

    start = parse_time(since + "T00:00")
    with session_scope() as session:
        facts = []
        for i in incidents_detected_since(session, start):
            totals = incident_totals(session, i.id).values()
            facts.append(IncidentFacts(i.level, i.category, i.is_drill, durations(i.stamps()),
                                       sum(t[1] for t in totals), sum(t[0] for t in totals)))
    result = summarise(facts)
    table = Table("level", "incidents", "median TTD (min)", "median TTA (min)", "median TTR (h)")
    for level, medians in result.medians.items():
        ttr = medians["TTR"]
        table.add_row(level, str(result.by_level[level]), _fmt(medians["TTD"]), _fmt(medians["TTA"]),
                      _fmt(ttr / 60 if ttr is not None else None))
    console.print(f"{result.incidents} incidents since {since} (drills excluded)")
    console.print(table)
    console.print("by category: " + ("、".join(f"{k} {v}" for k, v in result.by_category.items()) or "—"))
    console.print(f"compensation: {result.compensated_orders:,} orders, {result.compensation_fen / 100:,.2f} 元")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"
