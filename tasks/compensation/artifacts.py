"""Artifacts people act on: the progress of a long ledger write (updated as chunks commit, at most every few
seconds) and a batch's summary table. Both are published only inside a Prefect run (not from scripts,
benchmarks or tests that call the tasks' functions)."""

from __future__ import annotations

import time
from uuid import UUID

from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.context import FlowRunContext, TaskRunContext

UPDATE_EVERY_SECONDS = 2.0


def in_prefect_run() -> bool:
    """Tell whether this code runs inside a Prefect flow or task run."""
    return TaskRunContext.get() is not None or FlowRunContext.get() is not None


def publish_table(key: str, rows: list[dict[str, object]], description: str) -> None:
    """Publish a table artifact under `key` (a new version each time), inside a run only."""
    if in_prefect_run():
        create_table_artifact(key=key, table=rows, description=description)


class Progress:
    """A progress artifact for `total` items, created at once (inside a run only)."""

    def __init__(self, key: str, description: str, total: int) -> None:
        self.total, self.done, self._last = total, 0, time.monotonic()
        self._id: UUID | None = (create_progress_artifact(0.0, key=key, description=description)
                                 if in_prefect_run() and total else None)

    def advance(self, count: int) -> None:
        """Count `count` more items done; publish the percentage when due (always at the end)."""
        self.done += count
        due = time.monotonic() - self._last >= UPDATE_EVERY_SECONDS or self.done >= self.total
        if self._id is not None and due:
            update_progress_artifact(self._id, round(100.0 * self.done / self.total, 1))
            self._last = time.monotonic()
