"""`crisis config check`: every config file and mail template checked at once, one line per problem."""

from __future__ import annotations

import typer

from cli.options import console, errors, safe_text

config_app = typer.Typer(help="运维人员可编辑的配置（config/ 目录）。", no_args_is_help=True)


@config_app.command("check")
def check() -> None:
    """检查设置、全部 TOML 配置文件、roster.toml 中的联系地址和邮件模板；有任何问题退出码为 1。"""
    from config.check import check_config

    problems = check_config()
    for problem in problems:
        errors.print(f"[red]配置错误[/red] {safe_text(problem)}", highlight=False)
    if problems:
        raise typer.Exit(1)
    console.print("[green]配置检查通过：设置、全部配置文件和邮件模板均无问题[/green]")
