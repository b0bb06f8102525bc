"""What every command shares: the --now and --by options, the consoles, text made safe for the terminal,
and one red line per error (the traceback, and Prefect's run logs, go to <var>/log/cli.log)."""

from __future__ import annotations

import functools
import logging
import re
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn, ParamSpec, TypeVar, overload

import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from config.settings import SettingsError, get_settings
from tasks.common import resolve_now
from tasks.errors import CrisisError
from tasks.stack import StackError

console = Console()
errors = Console(stderr=True, soft_wrap=True)

Now = Annotated[str | None, typer.Option(
    "--now", help="按此时间运行（ISO 8601，不带时区即 Asia/Shanghai 北京时间）；不填即当前时间。")]
By = Annotated[str, typer.Option("--by", help="操作人姓名（记入审计日志）。")]
Key = Annotated[str, typer.Argument(help="事件编号，例如 INC-20261127-001（演练事件为 DRILL-…）。")]

P = ParamSpec("P")
R = TypeVar("R")

# Everything a terminal could act on: C0 (ESC, BEL, CR, LF …), DEL, C1 (CSI, OSC as one byte) and the
# bidirectional overrides that make text read differently from what it is.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The handler classes that write Prefect's logging to the terminal (pytest's capture handler is left alone).
_CONSOLE_HANDLERS = {"PrefectConsoleHandler", "StreamHandler", "_SafeStreamHandler", "RichHandler"}
_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_debug = False
log = logging.getLogger("crisis.cli")


def safe_text(value: object) -> str:
    """Return text that people or posts supplied, fit to print: control characters (ESC, C1, bidi overrides,
    newlines) shown as visible symbols, so no escape sequence reaches the terminal, and Rich markup escaped,
    so `[red]` or `[statuses]` print as typed. Use it on every name, note, reason and post a command prints."""
    shown = _UNSAFE.sub(lambda m: chr(0x2400 + ord(m[0])) if m[0] < " " else "\u2421" if m[0] == "\x7f" else "\ufffd",
                        str(value).replace("\t", " "))
    return escape(shown)


def set_debug(on: bool) -> None:
    """Show tracebacks and Prefect's run logs on the terminal (`crisis --debug`, or CRISIS_DEBUG=1)."""
    global _debug
    _debug = on


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
        raise typer.BadParameter(f"不是 ISO 8601 时间：{value!r}（例如 2026-11-27T10:00）") from None
    return resolve_now(moment)


def fails_cleanly(command: Callable[P, R]) -> Callable[P, R]:
    """Print one red line and exit 1 for any error; the traceback and Prefect's own logging (which logs a
    failed run's traceback to the console before re-raising) go to <var>/log/cli.log instead.

    --debug (or CRISIS_DEBUG=1) leaves Prefect's console logging on and prints the traceback too.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        debug = _debug_on()
        with _console_logging_to_file(debug) as log_file:
            try:
                return command(*args, **kwargs)
            except (typer.Exit, typer.Abort, TyperException):  # exit codes and bad arguments: typer's to show
                raise
            except (CrisisError, SettingsError, StackError) as exc:
                _fail(exc, _one_line(str(exc)), debug)
            except Exception as exc:  # noqa: BLE001 - the CLI's last stop: one line here, the traceback in the log
                where = f"（完整记录见 {log_file}，加 --debug 显示）" if log_file else ""
                _fail(exc, _describe(exc) + where, debug)

    return wrapper


@contextmanager
def no_heartbeats() -> Iterator[None]:
    """Run a command's flow without Prefect's flow-run heartbeats (around the flow call only: a command that
    runs no flow does not import Prefect for it). Each flow run otherwise waits up to a
    second at its end for the heartbeat thread to wake from its one-second sleep (a scan and its triage
    subflow: about 2 of the 4.6 s an idle `crisis scan` took). Heartbeats only feed a zombie-run automation,
    which this stack does not define; a run started here is watched by the person who started it."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _fail(exc: BaseException, line: str, debug: bool) -> NoReturn:
    if debug:
        errors.print("".join(traceback.format_exception(exc)), highlight=False, markup=False)
    else:
        log.error("%s", line, exc_info=exc)
    errors.print(f"[red]错误：[/red]{safe_text(line)}", highlight=False)
    raise typer.Exit(1) from None


def _debug_on() -> bool:
    try:
        return _debug or get_settings().debug
    except SettingsError:
        return _debug


def _one_line(message: str) -> str:
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


def _describe(exc: BaseException) -> str:
    """Name an unexpected error in one line; a database error by what the database said, and which one."""
    orig = getattr(exc, "orig", None)
    if type(exc).__module__.startswith("sqlalchemy") and orig is not None:
        try:
            where = _PASSWORD_IN_URL.sub(r"\1***@", get_settings().sqlalchemy_url)
        except SettingsError:
            where = "?"
        return f"数据库出错（{where}）：{_one_line(str(orig))}"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}"


@contextmanager
def _console_logging_to_file(debug: bool) -> Iterator[Path | None]:
    """While the command runs, send what the root logger would print (Prefect's run logs and tracebacks) to
    <var>/log/cli.log. If Prefect is not imported yet, our file handler on the root logger makes Prefect's
    logging setup leave the root alone (it keeps user handlers), so its console handler never appears."""
    if debug:
        yield None
        return
    try:
        path = get_settings().var_path / "log" / "cli.log"
        path.parent.mkdir(parents=True, exist_ok=True)
    except (SettingsError, OSError):
        yield None
        return
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s - %(message)s"))
    consoles = [h for h in root.handlers if type(h).__name__ in _CONSOLE_HANDLERS]
    for console_handler in consoles:
        root.removeHandler(console_handler)
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        for console_handler in consoles:
            root.addHandler(console_handler)
