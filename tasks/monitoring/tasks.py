"""Prefect tasks of the scan (舆情监测): read sources, analyse in batches, store idempotently."""

from __future__ import annotations

import glob
import os
from datetime import datetime
from pathlib import Path

from prefect import get_run_logger, task

from config.files import load_lexicon, load_sources
from config.settings import get_settings
from tasks.common import local_zone, retry_transient_db
from tasks.db import insert_ignoring_duplicates, session_scope
from tasks.models import Mention
from tasks.monitoring.analysis import LexiconData, analyse_many
from tasks.monitoring.sentiment_model import get_model
from tasks.monitoring.sources import RawMention, ReadReport, read_canonical_file


def lexicon_data() -> LexiconData:
    """Return config/lexicon.toml as the plain data the pure analysis takes."""
    lexicon = load_lexicon()
    return LexiconData(
        brands={name: b.aliases for name, b in lexicon.brands.items()},
        products={name: b.products for name, b in lexicon.brands.items()},
        categories={name: (c.any, c.exclude) for name, c in lexicon.categories.items()},
        critical=lexicon.critical,
        slang=lexicon.slang,
    )


@task
def list_source_files(extra_file: str | None = None) -> list[tuple[str, str]]:
    """Return (source name, path) for every file of every enabled file source, plus the extra file."""
    var = get_settings().var_path
    found: list[tuple[str, str]] = []
    for source in load_sources().file:
        if not source.enabled:
            continue
        pattern = source.glob if Path(source.glob).is_absolute() else str(var / source.glob)
        found.extend((source.name, path) for path in sorted(glob.glob(pattern)))
    if extra_file:
        found.append(("manual", str(Path(extra_file).resolve())))
    return found


@task(task_run_name="read-{source}")
def read_source_file(path: str, source: str, now: datetime) -> ReadReport:
    """Read one canonical file as of `now` (no side effect; bad rows are named in the report)."""
    report = read_canonical_file(Path(path), source, now, local_zone())
    logger = get_run_logger()
    for problem in report.problems[:20]:
        logger.warning("bad row skipped: %s", problem)
    logger.info(
        "%s: %d mentions, %d not yet published, %d bad rows",
        path, len(report.mentions), report.not_yet_published, len(report.problems),
    )
    return report


@task
def analyse_mentions(mentions: list[RawMention], fetched_at: datetime) -> list[dict[str, object]]:
    """Analyse a batch (jieba tokens, sentiment, brand, category, hashes) into mention rows."""
    cfg = get_settings().analysis
    workers = cfg.workers or os.cpu_count() or 1
    results = analyse_many([m.text for m in mentions], lexicon_data(), cfg.negative_below, get_model(),
                           workers=workers, parallel_from=cfg.parallel_from)
    return [
        {
            "source": m.source,
            "external_id": m.external_id,
            "platform": m.platform,
            "url": m.url,
            "author": m.author,
            "reach": m.reach,
            "published_at": m.published_at,
            "fetched_at": fetched_at,
            "text": m.text,
            "content_hash": a.content_hash,
            "simhash": f"{a.simhash:016x}",
            "sentiment": a.positive,
            "negative": a.negative,
            "category": a.category,
            "brand": a.brand,
            "product": a.product,
            "critical_terms": ",".join(a.critical_terms),
        }
        for m, a in zip(mentions, results, strict=True)
    ]


@task(retries=3, retry_delay_seconds=[1, 4, 10], retry_jitter_factor=0.5, retry_condition_fn=retry_transient_db)
def store_mentions(rows: list[dict[str, object]]) -> int:
    """Insert mentions not seen before. Safe to re-run: (source, external_id) already stored are skipped."""
    if not rows:
        return 0
    inserted = 0
    with session_scope() as session:
        for start in range(0, len(rows), 2000):
            statement = insert_ignoring_duplicates(Mention).returning(Mention.id)
            inserted += len(session.execute(statement, rows[start : start + 2000]).all())
    get_run_logger().info("stored %d new mentions of %d read", inserted, len(rows))
    return inserted
