"""Backfill runbook: re-analyse a period of stored mentions on a Dask cluster."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from prefect import flow

from config.settings import get_settings
from flows.forms import ask, optional, run_name
from tasks.common import resolve_now
from tasks.monitoring.backfill import dask_runner, plan_chunks, reanalyse_chunk


@flow(name="reanalyse-chunks")
def reanalyse_chunks(chunks: list[tuple[int, int]], since: datetime, until: datetime) -> int:
    """Re-analyse each chunk as one Dask task and return the number of mentions re-scored."""
    futures = [reanalyse_chunk.submit(first, last, since, until) for first, last in chunks]
    return sum(f.result() for f in futures)


Since = Annotated[datetime, ask("起始时间", "重新分析此时间之后发布的帖子，例如 2026-11-01 00:00（北京时间）")]
Until = optional(datetime, "截止时间", "留空即当前时间，例如 2026-11-30 23:59（北京时间）")
ChunkSize = optional(int, "每批帖子数", "留空用 settings.toml [dask] chunk_size")
Workers = optional(int, "并行进程数", "未配置 Dask 调度器时本机启动的进程数；留空自动")


@flow(name="backfill", flow_run_name=run_name("backfill", stamp=True, at="until"), log_prints=True)
def backfill(since: Since, until: Until = None, chunk_size: ChunkSize = None, workers: Workers = None) -> dict[str, object]:
    """Re-analyse the mentions published in [since, until] after a lexicon or model change.

    1) split them into id ranges; 2) re-score each range as one task on Dask (the configured
    scheduler, else a LocalCluster of `workers` processes); 3) report how many were re-scored.
    """
    end = resolve_now(until)
    start = resolve_now(since)
    chunks = plan_chunks(start, end, chunk_size or get_settings().dask.chunk_size)
    done = reanalyse_chunks.with_options(task_runner=dask_runner(workers))(chunks, start, end)
    return {"chunks": len(chunks), "mentions": done}
