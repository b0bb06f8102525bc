"""`crisis db upgrade`: the database schema."""

from __future__ import annotations

import typer

from cli.options import console, fails_cleanly
from config.settings import get_settings

db_app = typer.Typer(help="数据库结构。", no_args_is_help=True)


@db_app.command("upgrade")
@fails_cleanly
def db_upgrade() -> None:
    """执行数据库迁移（可重复运行）。"""
    from tasks.db import upgrade_database

    upgrade_database()
    console.print(f"数据库已是最新版本：{get_settings().sqlalchemy_url.split('@')[-1]}")
