"""Backfill runbook: re-analyse a period of stored mentions on a Dask cluster."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from config.settings import get_settings
from tasks.common import resolve_now
from tasks.monitoring.backfill import dask_runner, plan_chunks, reanalyse_chunk


@flow(name="reanalyse-chunks")
def reanalyse_chunks(chunks: list[tuple[int, int]], since: datetime, until: datetime) -> int:
    """Re-analyse each chunk as one Dask task and return the number of mentions re-scored."""
    futures = [reanalyse_chunk.submit(first, last, since, until) for first, last in chunks]
    return sum(f.result() for f in futures)


@flow(name="backfill", log_prints=True)
def backfill(since: datetime, until: datetime | None = None, chunk_size: int | None = None,
             workers: int | None = None) -> dict[str, object]:
    """Re-analyse the mentions published in [since, until] after a lexicon or model change.

    1) split them into id ranges; 2) re-score each range as one task on Dask (the configured
    scheduler, else a LocalCluster of `workers` processes); 3) report how many were re-scored.
    """
    end = resolve_now(until)
    start = resolve_now(since)
    chunks = plan_chunks(start, end, chunk_size or get_settings().dask.chunk_size)
    done = reanalyse_chunks.with_options(task_runner=dask_runner(workers))(chunks, start, end)
    return {"chunks": len(chunks), "mentions": done}
