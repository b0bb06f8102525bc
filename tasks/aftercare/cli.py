"""`crisis mitigate | step | close | report`: after-action work from the command line."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()
By = Annotated[str, typer.Option("--by", help="Who does it (kept in the audit trail).")]
Now = Annotated[str | None, typer.Option("--now", help="The moment to act as (ISO 8601; naive = Asia/Shanghai).")]


def _at(value: str | None) -> datetime:
    from tasks.common import resolve_now

    try:
        return resolve_now(datetime.fromisoformat(value) if value else None)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}") from None


def mitigate(key: str, by: By, note: str = "", now: Now = None) -> None:
    """Mark an incident mitigated (缓解): it moves to monitoring and its recovery is watched."""
    from tasks.aftercare.tasks import mitigate_incident

    mitigate_incident(key, by, note, _at(now))
    console.print(f"{key}: monitoring")


def step(key: str, name: Annotated[str, typer.Argument(help="apology | disclosure | improvement | compensation | "
                                                               "trust | monitoring")],
         by: By, state: str | None = None, owner: str | None = None,
         due: Annotated[str | None, typer.Option(help="Due time (ISO 8601; naive = Asia/Shanghai).")] = None,
         evidence: Annotated[str | None, typer.Option(help="A link to the published apology, notice …")] = None,
         now: Now = None) -> None:
    """Set a reputation-repair step (诚恳道歉, 公开信息, 改进措施, 提供补偿, 建立信任, 监测和反馈)."""
    from tasks.aftercare.repository import set_step
    from tasks.db import session_scope
    from tasks.incidents.repository import get_incident

    with session_scope() as session:
        row = set_step(session, get_incident(session, key), name, actor=by, at=_at(now), state=state, owner=owner,
                       due_at=_at(due) if due else None, evidence=evidence)
        console.print(f"{key}: {name} {row.state} (owner {row.owner or '—'})")


def close(key: str, by: By, note: str = "", now: Now = None) -> None:
    """Close a resolved incident once its review is accepted (复盘通过)."""
    from tasks.aftercare.tasks import close_incident

    close_incident(key, by, note, _at(now))
    console.print(f"{key}: closed by {by}")


def report(since: Annotated[str, typer.Option("--since", help="First day (YYYY-MM-DD, Asia/Shanghai).")]) -> None:
    """Metrics across incidents since a day: counts by level and category, median TTD/TTA/TTR, compensation."""
    from sqlalchemy import select

    from tasks.aftercare.report import IncidentFacts, summarise
    from tasks.compensation.repository import incident_totals
    from tasks.db import session_scope
    from tasks.incidents.state import durations
    from tasks.models import Incident

    start = _at(since + "T00:00")
    with session_scope() as session:
        facts = []
        for i in session.scalars(select(Incident).where(Incident.detected_at >= start)):
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
