"""`prefect server start`, with SQLite transactions that take the write lock when they begin.

Prefect's server opens its SQLite transactions DEFERRED: one that reads and then writes (creating a task run
reads its flow run first) fails at once with "database is locked" when another connection wrote in between
(the server's own event persister, a moment after a run's task events arrive). The API answers 503 and the
client waits 2 s, then 4 s, before it retries: about 2 of the 4.3 s an idle `crisis scan` took, and under
load the stalls that made paused runs and triggers slow. BEGIN IMMEDIATE takes the write lock up front, so a
second writer waits (busy_timeout, 60 s) instead of failing. PostgreSQL is untouched. If this Prefect's
database configuration no longer looks as expected, the server starts unchanged and says so in its log.

Run as `python -m tasks.prefect_server --host H --port P` (what `crisis up` starts).
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any


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


if __name__ == "__main__":
    main()
