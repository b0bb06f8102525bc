"""`crisis db upgrade`: the database schema."""

from __future__ import annotations

import typer

from cli.options import console, fails_cleanly
from config.settings import get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
@fails_cleanly
def db_upgrade() -> None:
    """Apply database migrations (safe to re-run)."""
    from tasks.db import upgrade_database

    upgrade_database()
    console.print(f"数据库已是最新版本：{get_settings().sqlalchemy_url.split('@')[-1]}")
