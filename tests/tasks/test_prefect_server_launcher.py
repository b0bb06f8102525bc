"""The stack's server launcher (tasks/prefect_server.py) still recognises this Prefect's SQLite configuration:
after an upgrade that changes it, the server would start with DEFERRED transactions again (503 "database is
locked" and 2 s client retries at nearly every scan) and only a log line would say so. This fails instead."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from config.settings import PROJECT_DIR
from tests.helpers import PATIENCE_SECONDS

CHECK = """
import inspect
from tasks.prefect_server import immediate_sqlite_transactions
from prefect.server.database.configurations import AioSqliteConfiguration
assert immediate_sqlite_transactions(), "Prefect's SQLite configuration is not the one tasks/prefect_server.py expects"
print(AioSqliteConfiguration.begin_transaction.__module__)
"""


def test_the_launcher_makes_sqlite_transactions_immediate_on_this_prefect() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "tasks.prefect_server", "the server's transactions go through our BEGIN IMMEDIATE"


QUEUED_THEN_FAILED = """
import sys
from pathlib import Path
from prefect import flow, get_run_logger
from prefect.settings import PREFECT_API_URL, temporary_settings
from tasks.prefect_server import temporary_server

@flow
def talk() -> None:
    for n in range(200):
        get_run_logger().info("日志 %d", n)

try:
    with temporary_server(Path(sys.argv[1])) as (url, _), temporary_settings(updates={PREFECT_API_URL: url}):
        talk()
        raise RuntimeError("the caller failed")
except RuntimeError:
    print("caught")
"""


def test_a_temporary_server_sends_the_queued_logs_before_it_stops_also_when_the_caller_failed(
        tmp_path: Path) -> None:
    """A flow's logs still queued when the server stopped were lost ("Error logging to API: All connection
    attempts failed" at exit; the backfill benchmark once hung there instead). They are sent before the server
    stops, also when the caller failed inside it (checked: without the drain this fails on that line)."""
    done = subprocess.run([sys.executable, "-c", QUEUED_THEN_FAILED, str(tmp_path / "prefect")], capture_output=True,
                          text=True, timeout=PATIENCE_SECONDS, cwd=PROJECT_DIR)
    assert done.returncode == 0 and done.stdout.strip() == "caught", done.stderr[-2000:]
    assert "Error logging to API" not in done.stderr, done.stderr[-2000:]
