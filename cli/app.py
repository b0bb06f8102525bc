"""The `crisis` command: operate the system without the Prefect UI. Each group's commands live in their module."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from cli import aftercare, analyze, compensate, incidents, reputation, stack
from cli.audit import audit_app
from cli.config import config_app
from cli.db import db_app
from cli.drill import drill_app
from cli.options import errors, set_debug
from cli.replay import replay
from config.settings import SettingsError, get_settings

app = typer.Typer(help="舆情危机响应 — 基于 Prefect 的电商危机响应系统。", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def _check_settings(ctx: typer.Context, debug: Annotated[bool, typer.Option(
        "--debug", help="在终端显示错误堆栈（traceback）和 Prefect 的运行日志（不加时写入 <var>/log/cli.log）。")] = False) -> None:
    """Validate the configuration before any command (a bad key stops here, named)."""
    set_debug(debug)
    if ctx.invoked_subcommand == "config":  # `crisis config check` names every problem, settings included
        return
    try:
        get_settings()
    except SettingsError as exc:
        errors.print(f"[red]配置错误：[/red]{escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


# in the order `crisis --help` lists them
for command in (incidents.scan, incidents.incidents, incidents.show, incidents.ack, incidents.open_,
                compensate.compensate, compensate.approve, compensate.reject, incidents.level, stack.up, stack.down,
                stack.demo, analyze.analyze, aftercare.mitigate, aftercare.step, aftercare.lesson, aftercare.close):
    app.command(command.__name__.rstrip("_"))(command)
app.command()(replay)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(config_app, name="config")
app.add_typer(analyze.sentiment_app, name="sentiment")
app.add_typer(drill_app, name="drill")
app.add_typer(reputation.report_app, name="report")

if __name__ == "__main__":
    app()
