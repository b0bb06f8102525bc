"""The stack's server launcher (tasks/prefect_server.py) still recognises this Prefect's SQLite configuration:
after an upgrade that changes it, the server would start with DEFERRED transactions again (503 "database is
locked" and 2 s client retries at nearly every scan) and only a log line would say so. This fails instead."""

from __future__ import annotations

import subprocess
import sys

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
