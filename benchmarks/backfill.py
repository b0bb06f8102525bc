"""Backfill on Dask: re-analysing stored mentions with 1 and with 2 LocalCluster workers, same run, on SQLite
and (when it answers at 127.0.0.1:5432) PostgreSQL, whose writers do not queue behind one another."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.comparisons import comparison

BACKFILL_MENTIONS = 40_000
END = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def _store(count: int) -> None:
    """Store `count` generated mentions (analysed once) in the current app database."""
    from prefect.logging import disable_run_logger

    from tasks.common import local_zone
    from tasks.monitoring.sources import read_canonical_file
    from tasks.monitoring.tasks import analyse_mentions, store_mentions
    from tasks.scenario.files import write_mentions
    from tasks.scenario.week import generate_scenario

    stored, seed = 0, 0
    with tempfile.TemporaryDirectory() as tmp, disable_run_logger():
        while stored < count:
            seed += 1
            path = Path(tmp) / f"{seed}.jsonl"
            write_mentions(generate_scenario(seed, END, days=7), path)
            mentions = read_canonical_file(path, f"bench{seed}", END, local_zone()).mentions[: count - stored]
            stored += store_mentions.fn(analyse_mentions.fn(mentions, END))


def bench_backfill() -> dict[str, object]:
    """The backfill speed-up of 2 workers over 1, on SQLite and, when a server answers, PostgreSQL."""
    from benchmarks.data import pg_databases

    results = {"sqlite": _speed_up(None, "sqlite")}
    with pg_databases(1) as urls:
        if urls:
            results["postgresql"] = _speed_up(urls[0], "postgresql")
    return {**results, "comparisons": [row for r in results.values() for row in r.pop("comparisons")]}


def _speed_up(url: str | None, engine: str) -> dict[str, object]:
    """Time the backfill flow over the same mentions with 1 and 2 Dask workers, alternated, best of two each
    (ratio = speed-up), on SQLite or on the database at `url`."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from benchmarks.data import app_database
    from flows.backfill import backfill
    from tasks.prefect_server import temporary_server

    seconds: dict[int, float] = {}
    # the stack's server (BEGIN IMMEDIATE), not prefect_test_harness's: its DEFERRED SQLite transactions made
    # some requests wait out the 60 s busy timeout, which a timed run would have counted
    with (tempfile.TemporaryDirectory(prefix="crisis-backfill-") as tmp, app_database(Path(tmp), url),
          temporary_server(Path(tmp) / "prefect") as (api, _),
          temporary_settings(updates={PREFECT_API_URL: api})):
        _store(BACKFILL_MENTIONS)
        # 1, 2, 2, 1 and the best of each: the first run warms caches and the noisy machine drifts, so
        # neither side always goes first.
        for workers in (1, 2, 2, 1):
            start = time.perf_counter()
            result = backfill(since=END - timedelta(days=8), until=END, chunk_size=5000, workers=workers)
            elapsed = time.perf_counter() - start
            seconds[workers] = min(seconds.get(workers, elapsed), elapsed)
    rates = {w: int(result["mentions"]) / s for w, s in seconds.items()}
    return {
        "mentions": result["mentions"],
        "seconds": {f"{w}_workers": round(s, 2) for w, s in seconds.items()},
        "comparisons": [comparison(f"backfill, 2 Dask workers ({engine})", rates[2], "mentions/s",
                                   f"backfill, 1 Dask worker ({engine})", rates[1])],
    }
