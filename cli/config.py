"""`crisis config check`: every config file and mail template checked at once, one line per problem."""

from __future__ import annotations

import typer

from cli.options import console, errors, safe_text

config_app = typer.Typer(help="The operator-editable configuration (config/).", no_args_is_help=True)


@config_app.command("check")
def check() -> None:
    """Check settings, every TOML file, the roster's addresses and the mail templates; exit 1 on any problem."""
    from config.check import check_config

    problems = check_config()
    for problem in problems:
        errors.print(f"[red]配置错误[/red] {safe_text(problem)}", highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print("[green]配置检查通过：设置、全部配置文件和邮件模板均无问题[/green]")
