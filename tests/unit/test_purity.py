"""Pure modules stay pure: importing one never pulls in Prefect, a database or a network client."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.unit.conftest import ROOT

PURE_MODULES = [
    "tasks.monitoring.analysis",
    "tasks.monitoring.claims",
    "tasks.triage.severity",
    "tasks.incidents.state",
    "tasks.triage.detection",
    "tasks.notify.templates",
    "tasks.notify.routing",
    "tasks.notify.delivery",
    "tasks.aftercare.recovery",
    "tasks.aftercare.review",
    "tasks.aftercare.timeline",
    "tasks.aftercare.repair",
    "tasks.aftercare.report",
    "tasks.aftercare.chart",
    "tasks.charts",
    "tasks.triage.brief",
    "tasks.triage.rumour",
    "tasks.triage.debunk",
    "tasks.triage.warning",
    "tasks.monitoring.sentiment",
    "tasks.monitoring.simhash",
    "tasks.compensation.policy",
    "tasks.compensation.orders",
    "tasks.scenario.catalogue",
    "tasks.scenario.chatter",
    "tasks.scenario.crisis",
    "tasks.scenario.draws",
    "tasks.scenario.files",
    "tasks.scenario.orders",
    "tasks.scenario.texts",
    "tasks.scenario.vocabulary",
    "tasks.scenario.week",
    "tasks.drills.grading",
    "tasks.errors",
    "tasks.monitoring.duplicates",
    "tasks.monitoring.errors",
    "tasks.monitoring.exports",
    "tasks.monitoring.formats",
    "tasks.monitoring.health",
    "tasks.monitoring.resilience",
    "tasks.monitoring.sources",
    "tasks.monitoring.sources_files",
    "tasks.monitoring.sources_hygiene",
    "tasks.notify.escalation",
    "tasks.notify.chat",
    "tasks.compensation.formats",
    "tasks.compensation.notices",
    "tasks.monitoring.lexicon",
    "tasks.monitoring.sentiment_model",
    "tasks.common",
    "tasks.replay.plan",
    "tasks.reputation.indicators",
    "tasks.reputation.chart",
    "tasks.reputation.report",
]
FORBIDDEN = ["prefect", "sqlalchemy", "yagmail", "httpx", "requests", "urllib3"]
# Read off the source only (third-party packages may use these inside): processes and mail servers.
EFFECTFUL = [*FORBIDDEN, "aiosmtpd", "subprocess"]

# One interpreter imports every module in turn. Forbidden packages are blocked rather than loaded,
# so each module that reaches for one is caught, not only the first of them.
PROBE = """
import importlib, json, sys
modules, forbidden = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
current, offenders, broken = None, {}, {}

class Block:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in forbidden:
            offenders.setdefault(current, []).append(top)
            raise ModuleNotFoundError(f"{top} is blocked in pure modules", name=name)
        return None

sys.meta_path.insert(0, Block())
for current in modules:
    try:
        importlib.import_module(current)
    except Exception as exc:
        if current not in offenders:
            broken[current] = repr(exc)
print(json.dumps({"offenders": offenders, "broken": broken,
                  "loaded": sorted({n.partition(".")[0] for n in sys.modules} & forbidden)}))
"""


def test_pure_modules_import_no_framework_database_or_network_client() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(PURE_MODULES), json.dumps(FORBIDDEN)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    report = json.loads(result.stdout)
    assert report["broken"] == {}
    assert report["offenders"] == {}
    assert report["loaded"] == []


def test_only_tasks_db_creates_engines() -> None:
    """One place owns connections (pooling, SQLite tuning, read-only engines): nothing else calls create_engine."""
    owners = sorted(str(path.relative_to(ROOT)) for folder in ("tasks", "flows")
                    for path in (ROOT / folder).rglob("*.py") if "create_engine(" in path.read_text(encoding="utf-8"))
    assert owners == ["tasks/db.py"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_imports() -> dict[str, set[str]]:
    """Return, per module of tasks/ and config/, every module it imports at any depth (ast)."""
    paths = [p for folder in ("tasks", "config") for p in (ROOT / folder).rglob("*.py")
             if "migrations" not in p.parts and p.name != "__init__.py"]
    names = {_module_name(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in names}
        graph[_module_name(path)] = found
    return graph


def test_every_module_that_is_pure_is_guarded() -> None:
    """A module of tasks/ whose imports (at any depth, followed through the project) reach no framework,
    database, network client, process or mail server is on PURE_MODULES, so it stays that way."""
    graph = _project_imports()
    verdict: dict[str, bool] = {}

    def pure(module: str, seen: frozenset[str] = frozenset()) -> bool:
        if module not in verdict:
            if module in seen:
                return True
            inside = [m for m in graph[module] if m in graph]
            verdict[module] = (not any(m.partition(".")[0] in EFFECTFUL for m in graph[module])
                               and all(pure(m, seen | {module}) for m in inside))
        return verdict[module]

    pure_in_fact = {m for m in graph if m.startswith("tasks.") and pure(m)}
    assert sorted(pure_in_fact - set(PURE_MODULES)) == []
    assert sorted(set(PURE_MODULES) - pure_in_fact) == []


# Imported on first use, not by every scan: an idle `crisis scan` (nothing new to analyse or mail) and every
# CLI command and flow-run process pay for each of these on import (jieba ~0.12 s, jieba-rs ~0.12 s, jinja2
# ~0.05 s, feedparser ~0.03 s here; the idle scan's goal is 3 s end to end, issue 17).
ON_FIRST_USE = ["jieba", "rjieba", "jinja2", "snownlp", "sklearn", "pandas", "feedparser"]


def test_a_scan_imports_no_tokenizer_template_engine_or_trainer_until_it_needs_one() -> None:
    probe = ("import json, sys\nimport cli.app, flows.monitor, flows.triage\n"
             f"print(json.dumps(sorted({{n.partition('.')[0] for n in sys.modules}} & set({ON_FIRST_USE!r}))))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=True)
    assert json.loads(result.stdout) == []


def test_the_scan_records_its_parameters_as_prefect_would_without_importing_fastapi() -> None:
    """Prefect's Flow.serialize_parameters imports fastapi (~0.15 s of a `crisis scan` process) for its
    jsonable_encoder; the CLI's flows record JSON values and datetimes themselves, the same way."""
    probe = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from prefect import Flow
import flows.compensate, flows.drill, flows.monitor, flows.reputation, flows.triage
health = [{"name": "inbox", "status": "ok", "last_success_at": datetime(2026, 11, 27, 2, 5, tzinfo=UTC),
           "consecutive_failures": 0, "rate": 0.5, "enabled": True, "last_error": None, "files": ("a", "b")}]
calls = [(flows.monitor.scan, {"now": datetime(2026, 11, 27, 10, 0), "extra_file": "x.jsonl"}),
         (flows.triage.triage_mentions, {"window_end": datetime(2026, 11, 27, 2, 0, tzinfo=UTC),
                                         "source_health": health})]
ours = [f.serialize_parameters(p) for f, p in calls]
before = "fastapi" in sys.modules
odd = flows.monitor.scan.serialize_parameters({"now": None, "extra_file": Path("x.jsonl")})  # Prefect's own
prefects = [Flow.serialize_parameters(f, p) for f, p in calls]
print(json.dumps({"fastapi_before": before, "same": ours == prefects, "odd": odd}))
"""
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            check=True)
    report = json.loads(result.stdout)
    assert report == {"fastapi_before": False, "same": True, "odd": {"now": None, "extra_file": "x.jsonl"}}
