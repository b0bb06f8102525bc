"""`crisis scan` against a running stack (its own `prefect server start` on SQLite): every scan's requests are
answered the first time. Prefect's server otherwise answered the triage subflow's task run with 503
("database is locked": a read-then-write transaction raced the server's event persister) and the client
waited 2 s before retrying, at every scan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import PROJECT_DIR
from tasks.stack import Stack, ensure_prefect_server
from tests.helpers import PATIENCE_SECONDS

pytestmark = pytest.mark.integration


def test_scans_against_the_stack_are_never_told_to_retry(local_stack: Stack, sqlite_db: str) -> None:
    ensure_prefect_server(local_stack)
    env = {**local_stack.env(), "PREFECT_API_URL": local_stack.api_url}
    crisis = str(Path(sys.executable).parent / "crisis")
    for minute in range(3):
        done = subprocess.run([crisis, "scan", "--now", f"2026-12-04T10:0{minute}:00+08:00"], env=env, cwd=PROJECT_DIR,
                              capture_output=True, text=True, timeout=PATIENCE_SECONDS)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "读取 0 条提及，新增 0 条" in done.stdout
        assert "临时 Prefect 服务器" not in done.stderr, "the CLI used the running stack"
    log = (local_stack.var / "log" / "prefect-server.log").read_text(encoding="utf-8", errors="replace")
    assert "Encountered retryable exception" not in log and "database is locked" not in log, log[-3000:]
