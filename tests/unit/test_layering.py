"""The house keeps its shape: who may import what, where SQL lives, where the level names are spelled.

Each rule is read off the source with `ast` (function-level imports included), so a rule broken in a
corner that no test runs still fails here. README's development section draws the same map.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.unit.conftest import ROOT

PACKAGES = ("tasks", "flows", "cli", "config")
# Our own SQL lives in these (and in every repository.py); the migrations are SQL by nature.
SQL_HOMES = {"tasks/db.py", "tasks/audit.py", "tasks/models.py",
             "tasks/triage/competitors.py"}  # the competitor alerts' repository, beside triage's own
# Clients of the operator's own databases (read-only SELECTs on the shop's reviews or orders, like an
# HTTP source reads a platform): they use SQLAlchemy as a driver, not for our data.
OPERATOR_DATABASE_CLIENTS = {"tasks/monitoring/sources_sql.py", "tasks/compensation/sources.py"}
LEVEL_NAMES = {"I", "II", "III", "IV"}
LEVEL_HOME = "tasks/incidents/state.py"


def _modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Return ids of the nodes under `if TYPE_CHECKING:` (imports for type hints only, never run)."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    return hidden


def _imports(path: Path, runtime_only: bool = False) -> list[tuple[int, str]]:
    """Return (line, module) of every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = _type_checking_nodes(tree) if runtime_only else set()
    found = []
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _top(module: str) -> str:
    return module.partition(".")[0]


def test_tasks_never_import_flows_or_the_cli() -> None:
    """Work lives in tasks/; flows and the CLI call it, never the other way round."""
    offenders = [f"{_relative(p)}:{line} imports {m}" for p in _modules("tasks")
                 for line, m in _imports(p) if _top(m) in ("flows", "cli")]
    assert offenders == []


def test_flows_and_config_never_import_the_cli() -> None:
    offenders = [f"{_relative(p)}:{line} imports {m}" for p in _modules("flows", "config")
                 for line, m in _imports(p) if _top(m) == "cli"]
    assert offenders == []


def test_sqlalchemy_is_imported_only_where_sql_lives() -> None:
    """db.py, audit.py, models.py, migrations and repository modules; a `Session` type hint elsewhere
    is imported under TYPE_CHECKING."""

    def allowed(path: Path) -> bool:
        name = _relative(path)
        return (name in SQL_HOMES or name in OPERATOR_DATABASE_CLIENTS or path.name == "repository.py"
                or name.startswith("tasks/migrations/"))

    offenders = [f"{_relative(p)}:{line} imports {m}" for p in _modules(*PACKAGES) if not allowed(p)
                 for line, m in _imports(p, runtime_only=True) if _top(m) == "sqlalchemy"]
    assert offenders == []


def test_the_level_names_are_spelled_in_one_place() -> None:
    """I, II, III and IV are written once, in the Level enum; everything else says Level.I or LEVELS."""
    offenders = []
    for path in _modules(*PACKAGES):
        if _relative(path) == LEVEL_HOME or _relative(path).startswith("tasks/migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in LEVEL_NAMES:
                offenders.append(f"{_relative(path)}:{node.lineno} spells {node.value!r}")
    assert offenders == []


def test_the_guards_can_fail(tmp_path: Path) -> None:
    """Each reader sees what it must: a function-level import, a TYPE_CHECKING import, a level literal."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from sqlalchemy.orm import Session\n"
        "def f():\n    from flows.monitor import scan\n    return 'II'\n", encoding="utf-8")
    assert (5, "flows.monitor") in _imports(sample)
    assert (3, "sqlalchemy.orm") in _imports(sample)
    assert (3, "sqlalchemy.orm") not in _imports(sample, runtime_only=True)
    assert any(isinstance(n, ast.Constant) and n.value == "II" for n in ast.walk(ast.parse(sample.read_text())))
