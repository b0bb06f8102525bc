"""One Prefect server for a package or module of in-process flow tests: the one `crisis up` starts
(tasks/prefect_server.py, SQLite transactions BEGIN IMMEDIATE) on a free loopback port with its own home.

Not prefect_test_harness: its server opens SQLite transactions DEFERRED, and in two of three runs of the
flows tier a request waited out SQLite's 60 s busy timeout (an artifact, a flow-run state) before the client
retried: one 4 s test took 64 s, the tier 4.3 to 5.4 minutes instead of 2.9."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from config.settings import PROJECT_DIR
from tasks.stack import prefect_is_up
from tests.helpers import PATIENCE_SECONDS, free_port, wait_for


@contextmanager
def prefect_server(home: Path) -> Iterator[Path]:
    """Run a Prefect server with its database under `home` and point this process's flows at it; yield its
    log. Logs and events still queued are sent before it stops."""
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_LOG_RETRYABLE_ERRORS": "true",
           "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = home / "prefect-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "tasks.prefect_server", "--host", "127.0.0.1",
                                   "--port", str(port)], env=env, cwd=PROJECT_DIR, stdout=out,
                                  stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for(lambda: prefect_is_up(url) or server.poll() is not None, "the tests' Prefect server",
                 PATIENCE_SECONDS, every=0.5)
        assert server.poll() is None, f"the Prefect server exited: {log.read_text(errors='replace')[-2000:]}"
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield log
            # bounded: a queue another test left for a server it stopped must not hold this one's end
            APILogWorker.drain_all(timeout=60)
            EventsWorker.drain_all(timeout=60)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
