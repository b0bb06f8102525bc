"""Re-analyse stored mentions in id-range chunks (after a lexicon or model change), on Dask."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect_dask import DaskTaskRunner

from config.settings import get_settings
from tasks.db import session_scope
from tasks.monitoring import repository
from tasks.monitoring.analysis import analyse_many
from tasks.monitoring.duplicates import stored_terms
from tasks.monitoring.lexicon import lexicon_data
from tasks.monitoring.sentiment_model import get_model
from tasks.monitoring.tasks import resolve_stored_reposts


def dask_runner(workers: int | None = None) -> DaskTaskRunner:
    """Return the Dask task runner: the configured scheduler, else a LocalCluster of worker processes."""
    cfg = get_settings().dask
    if cfg.scheduler_address:
        return DaskTaskRunner(address=cfg.scheduler_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers or cfg.local_workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})


@task
def plan_chunks(since: datetime, until: datetime, chunk_size: int) -> list[tuple[int, int]]:
    """Return (first id, last id) ranges of about `chunk_size` mentions published in [since, until]."""
    with session_scope() as session:
        ids = repository.mention_ids_published(session, since, until)
    return [(ids[i], ids[min(i + chunk_size, len(ids)) - 1]) for i in range(0, len(ids), chunk_size)]


@task(task_run_name="reanalyse-{first_id}-{last_id}", retries=2, retry_delay_seconds=[2, 8])
def reanalyse_chunk(first_id: int, last_id: int, since: datetime, until: datetime) -> int:
    """Re-score the chunk's mentions with the current lexicon and model, then resolve their reposts again
    (a repost counts for what its original now reads as, as a scan would store it); return how many. Safe to
    re-run: it overwrites the analysis columns with the same values."""
    with session_scope() as session:
        rows = repository.mention_texts(session, first_id, last_id, since, until)
    results = analyse_many([r.text for r in rows], lexicon_data(), get_settings().analysis.negative_below, get_model())
    values = [{"mid": r.id, "sentiment": a.positive, "negative": a.negative, "category": a.category,
               "brand": a.brand, "product": a.product, "critical_terms": stored_terms(a.critical_terms),
               "claims": stored_terms(a.health_claims),
               "debunk": a.debunk, repository.ALSO_BRANDS: a.also} for r, a in zip(rows, results, strict=True)]
    with session_scope() as session:
        repository.store_analysis(session, values)
        resolve_stored_reposts(session, [{"source": r.source, "external_id": r.external_id,
                                          "repost_of": r.repost_of} for r in rows])
    return len(values)
