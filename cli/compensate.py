"""`crisis compensate`: pay an incident's customers (提供补偿) through the compensate flow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.options import Now, console, fails_cleanly, parse_time


@fails_cleanly
def compensate(key: str, policy: Annotated[str, typer.Option("--policy", help="Policy in config/compensation.toml.")],
               orders: Annotated[Path | None, typer.Option("--orders", help="Orders CSV/XLSX.")] = None,
               apply: Annotated[bool, typer.Option("--apply", help="Write the ledger (default: dry run).")] = False,
               query: Annotated[str | None, typer.Option("--query", help="A named orders query.")] = None,
               orders_format: Annotated[str, typer.Option("--format", help="auto | generic | taobao | jd.")] = "auto",
               notify_customers: Annotated[bool, typer.Option("--notify-customers", help="Queue notices.")] = False,
               by: str = "crisis-cli", note: str = "", now: Now = None) -> None:
    """Compensate an incident's customers from an orders file or query (dry run unless --apply)."""
    from flows.compensate import compensate as compensate_flow

    result = compensate_flow(incident_key=key, orders_path=str(orders) if orders else None, orders_query=query,
                             policy=policy, dry_run=not apply, note=note or None, orders_format=orders_format,
                             notify_customers=notify_customers, requested_by=by, now=parse_time(now))
    console.print(f"{result['status']}: {result['applied']} orders, {result['customers']} customers, "
                  f"{int(result['amount_fen']) / 100:,.2f} 元, {result['points']} points; "
                  f"skipped {json.dumps(result['skipped'], ensure_ascii=False)}; report {result['report_path']}")
