"""`crisis up | down | demo`: the local stack (Prefect server, SMTP sink, deployments, a worker)."""

from __future__ import annotations

from rich.table import Table

from cli.options import console, fails_cleanly, safe_text
from config.settings import get_settings


@fails_cleanly
def up() -> None:
    """Start the local stack: Prefect server, SMTP sink, deployments, a worker."""
    from tasks.db import upgrade_database
    from tasks.stack import start_stack

    upgrade_database()
    stack = start_stack(first_scan=True)
    console.print(f"stack up: Prefect UI {stack.ui_url}, logs in {stack.var / 'log'}; the first scan is queued",
                  markup=False, highlight=False)


@fails_cleanly
def down() -> None:
    """Stop what `crisis up` or `crisis demo` started (nothing else)."""
    from tasks.stack import stop_stack

    notes: list[str] = []
    stopped = stop_stack(notes=notes)
    for note in notes:
        console.print(note, markup=False, highlight=False)
    if stopped or not notes:
        console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@fails_cleanly
def demo(seed: int | None = None) -> None:
    """Generate a scenario and drive the whole lifecycle through the deployments."""
    from tasks.demo import run_demo
    from tasks.stack import Stack

    result = run_demo(Stack(get_settings()), seed=seed, say=lambda line: console.print(f"· {safe_text(line)}"))
    table = Table("demo summary", "", show_header=True)
    table.add_row("incident", safe_text(f"{result.incident_key} (level {result.level})"))
    table.add_row("e-mails delivered", str(result.mails_delivered))
    table.add_row("orders compensated", f"{result.orders_compensated} ({result.amount_fen / 100:,.2f} 元)")
    table.add_row("review", safe_text(result.review_path))
    table.add_row("Prefect UI", safe_text(result.ui_url))
    for note in result.notes:
        table.add_row("note", safe_text(note))
    console.print(table)
