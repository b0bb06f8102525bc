"""`prefect server start`, with SQLite transactions that take the write lock when they begin.

Prefect's server opens its SQLite transactions DEFERRED: one that reads and then writes (creating a task run
reads its flow run first) fails at once with "database is locked" when another connection wrote in between
(the server's own event persister, a moment after a run's task events arrive). The API answers 503 and the
client waits 2 s, then 4 s, before it retries: about 2 of the 4.3 s an idle `crisis scan` took, and under
load the stalls that made paused runs and triggers slow. BEGIN IMMEDIATE takes the write lock up front, so a
second writer waits (busy_timeout, 60 s) instead of failing. PostgreSQL is untouched. If this Prefect's
database configuration no longer looks as expected, the server starts unchanged and says so in its log.

Run as `python -m tasks.prefect_server --host H --port P` (what `crisis up` starts); `temporary_server` runs one
for a test or a benchmark.
"""

from __future__ import annotations

import inspect
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

DATABASE = "prefect.db"  # the SQLite database a temporary server keeps in its home


def immediate_sqlite_transactions() -> bool:
    """Make every SQLite transaction of Prefect's server BEGIN IMMEDIATE; False (nothing changed) when the
    server's database configuration is not the one this was written for."""
    from prefect.server.database import configurations

    config = getattr(configurations, "AioSqliteConfiguration", None)
    deferred = getattr(config, "begin_transaction", None)
    if deferred is None or "with_for_update" not in inspect.signature(deferred).parameters:
        return False

    @asynccontextmanager
    async def begin_transaction(self: Any, session: Any, with_for_update: bool = False) -> AsyncIterator[Any]:
        async with deferred(self, session, with_for_update=True) as transaction:
            yield transaction

    config.begin_transaction = begin_transaction  # type: ignore[union-attr]
    return True


def main(argv: Sequence[str] | None = None) -> None:
    if not immediate_sqlite_transactions():
        logging.getLogger(__name__).warning("Prefect's SQLite configuration changed: transactions stay DEFERRED")
    from prefect.cli import app

    sys.argv = ["prefect", "server", "start", *(sys.argv[1:] if argv is None else argv)]
    app()


@contextmanager
def temporary_server(home: Path, port: int | None = None, patience: float = 600.0) -> Iterator[tuple[str, Path]]:
    """Run this server on loopback (`port`, or a free one) with its home and SQLite database in `home`, without
    the UI; yield its API URL and its log (home/prefect-server.log); stop it at the end. Not the stack's server
    (`crisis up`): one for a test or a benchmark, which points its own flows at the URL."""
    from tasks.stack import prefect_is_up

    if port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_LOG_RETRYABLE_ERRORS": "true",
           "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / DATABASE}",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    home.mkdir(parents=True, exist_ok=True)
    log = home / "prefect-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "tasks.prefect_server", "--host", "127.0.0.1",
                                   "--port", str(port)], env=env, cwd=Path(__file__).resolve().parents[1],
                                  stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + patience
        while not prefect_is_up(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server on port {port} did not start: "
                                   f"{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield url, log
    finally:
        if server.poll() is None:  # also when the caller failed: a queue left behind would hold the exit
            _send_what_is_queued()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _send_what_is_queued(seconds: float = 60) -> None:
    """Send the logs and events this process still holds before its server stops: queued for a server that is
    gone, they would hold the process's exit (Prefect drains them at exit, retrying a dead address)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=seconds)
    EventsWorker.drain_all(timeout=seconds)


if __name__ == "__main__":
    main()
