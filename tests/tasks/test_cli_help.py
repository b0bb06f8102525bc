"""`crisis … --help` speaks Chinese: the operators, PR responders and customer-service leads who run the
commands read Chinese, so every command's summary and every option's and argument's help is in Chinese.

Every command is walked, nested groups included (`db upgrade`, `audit verify`, `report reputation` …), so a
command or option added later with an English-only help (or none) fails here. `--help` never runs a flow:
no Prefect server, no database.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli.app import app

runner = CliRunner()
CHINESE = re.compile(r"[\u4e00-\u9fff]")
BUILT_IN = {"help", "install_completion", "show_completion"}  # typer's own options, worded by typer
WIDTH = 80  # a terminal's default width; rich crops a help text rather than wrap it when it has no room
# What rich draws around and between the words: spaces, line breaks and the panels' borders.
DRAWING = re.compile(r"[\s│╭╮╰╯─]")


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield (the words that name it, the click command) for the app and every command under it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))
IDS = [" ".join(path) or "crisis" for path, _ in COMMANDS]


def _summary(command: Any) -> str:
    """Return the first paragraph of the command's help: the line `crisis --help` lists it with."""
    return (command.help or "").strip().split("\n\n")[0]


def _params(command: Any) -> list[Any]:
    return [p for p in command.params if p.name not in BUILT_IN]


@functools.cache
def _help_page(path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.output
    return result.output


def _flat(text: str) -> str:
    return DRAWING.sub("", text)


@pytest.fixture(autouse=True)
def _settings(var_dir: Path) -> None:
    """The app checks its settings before any command, --help included: a throwaway var/ for that."""


def test_the_walk_reaches_the_nested_commands() -> None:
    assert {"crisis", "scan", "compensate", "db upgrade", "audit verify", "config check", "sentiment train",
            "drill grade", "drill scenarios", "report reputation", "report competitors"} <= set(IDS)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_summary_and_option_help_is_chinese(path: tuple[str, ...], command: Any) -> None:
    page = _help_page(path)
    summary = _summary(command)
    assert CHINESE.search(summary), f"{' '.join(path) or 'crisis'}: summary without Chinese: {summary!r}"
    assert "\n" not in summary, f"the summary is one line (the command list keeps its line breaks): {summary!r}"
    assert _flat(summary) in _flat(page)
    english = [f"{'/'.join(p.opts)}: {getattr(p, 'help', None)!r}" for p in _params(command)
               if not CHINESE.search(getattr(p, "help", None) or "")]
    assert english == [], f"{' '.join(path) or 'crisis'}: option or argument help without Chinese"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_no_help_text_is_cut_in_an_80_column_terminal(path: tuple[str, ...], command: Any) -> None:
    """Rich wraps a help text only at spaces: a long run of Chinese without one is cropped with '…' instead.
    Each text must show whole: the command's own, its options' and its sub-commands' summaries."""
    page = _flat(_help_page(path))
    texts = [paragraph for p in _params(command) for paragraph in (p.help or "").split("\n\n")]
    texts += (command.help or "").split("\n\n")
    texts += [_summary(sub) for sub in getattr(command, "commands", {}).values()]
    cut = [text for text in texts if _flat(text) not in page]
    assert cut == [], f"cut at {WIDTH} columns in `{' '.join(['crisis', *path])} --help`"
