"""`crisis audit verify`: the hash-chained audit trail."""

from __future__ import annotations

import typer

from cli.options import console, errors, fails_cleanly

audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)


@audit_app.command("verify")
@fails_cleanly
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
