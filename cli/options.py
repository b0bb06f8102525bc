"""What every command shares: the --now and --by options, the consoles, one red line per named error."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, ParamSpec, TypeVar, overload

import typer
from rich.console import Console

from config.settings import SettingsError
from tasks.common import resolve_now
from tasks.errors import CrisisError
from tasks.stack import StackError

console = Console()
errors = Console(stderr=True, soft_wrap=True)

Now = Annotated[str | None, typer.Option("--now", help="The moment to act as (ISO 8601; naive = Asia/Shanghai).")]
By = Annotated[str, typer.Option("--by", help="Who does it (kept in the audit trail).")]

P = ParamSpec("P")
R = TypeVar("R")


@overload
def parse_time(value: str) -> datetime: ...
@overload
def parse_time(value: None) -> None: ...
@overload
def parse_time(value: str | None) -> datetime | None: ...


def parse_time(value: str | None) -> datetime | None:
    """Return an ISO 8601 option value as a UTC time (naive = Asia/Shanghai); None when it was not given.

    None is passed on as it is: a flow then reads the clock at each step, as it does when started from the UI.
    """
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r} (e.g. 2026-11-27T10:00)") from None
    return resolve_now(moment)


def fails_cleanly(command: Callable[P, R]) -> Callable[P, R]:
    """Turn our named errors into one red line and exit code 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (CrisisError, SettingsError, StackError) as exc:
            errors.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper
