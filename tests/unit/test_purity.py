"""Pure modules stay pure: importing one never pulls in Prefect, a database or a network client."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.unit.conftest import ROOT

PURE_MODULES = [
    "tasks.monitoring.analysis",
    "tasks.triage.severity",
    "tasks.incidents.state",
    "tasks.triage.detection",
    "tasks.notify.templates",
    "tasks.notify.routing",
    "tasks.notify.delivery",
    "tasks.aftercare.recovery",
    "tasks.aftercare.review",
    "tasks.aftercare.repair",
    "tasks.aftercare.report",
    "tasks.aftercare.chart",
    "tasks.triage.brief",
    "tasks.monitoring.sentiment",
    "tasks.compensation.policy",
    "tasks.compensation.orders",
    "tasks.scenario",
    "tasks.drills.grading",
]
FORBIDDEN = ["prefect", "sqlalchemy", "yagmail", "httpx", "requests", "urllib3"]

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
