"""Prefect tasks of the scan (舆情监测): read each source, analyse in batches, store idempotently with
duplicate and repost links, then save each source's progress and health."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from config.files import load_sources
from config.settings import get_settings
from tasks.common import collector_paused, local_zone, show_time
from tasks.db import retry_transient_db, session_scope
from tasks.monitoring import health, readers, repository
from tasks.monitoring.analysis import analyse_many
from tasks.monitoring.duplicates import resolve_reposts, stored_terms
from tasks.monitoring.health import SourceOutcome
from tasks.monitoring.lexicon import lexicon_data
from tasks.monitoring.repository import ALSO_BRANDS
from tasks.monitoring.results import MANUAL
from tasks.monitoring.sentiment_model import get_model
from tasks.monitoring.sources import RawMention, ReadReport, read_canonical_file
from tasks.monitoring.sources_files import AlreadyRead, DropFile

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DUPLICATE_WINDOW = timedelta(hours=48)
# Rounds of repost resolution per store: a repost of a repost is resolved one round after its original.
REPOST_DEPTH = 5


@task
def list_sources() -> list[str]:
    """Return the names of the enabled sources in config/sources.toml (no side effect)."""
    return [source.name for source in load_sources().all() if source.enabled]


def _already_read(source: str) -> AlreadyRead:
    def check(files: list[DropFile]) -> set[str]:
        with session_scope() as session:
            return repository.files_already_read(session, source, files)

    return check


def _log(report: ReadReport) -> None:
    logger = get_run_logger()
    for problem in report.problems[:20]:
        logger.warning("跳过有误的记录：%s", problem)
    for waiting in report.waiting[:20]:
        logger.info("留待下次扫描：%s", waiting)
    logger.info("%s：读到 %d 条提及，%d 条尚未发布，%d 条记录有误，%d 项留待下次扫描", report.source,
                len(report.mentions), report.not_yet_published, len(report.problems), len(report.waiting))


@task(task_run_name="read-{name}", cache_policy=NO_CACHE)
def read_source(name: str, now: datetime) -> ReadReport:
    """Read one configured source as of `now`, from where its last scan left off.

    No side effect: the source's new watermark, cursor and files read are saved by save_source_progress
    once the mentions are stored, so a crash in between reads them again rather than losing them.
    """
    source = load_sources().get(name)
    with session_scope() as session:
        progress = repository.load_progress(session, name)
    report = readers.read(source, progress, now, local_zone(), get_settings().var_path, time.time(),
                          _already_read(name))
    _log(report)
    return report


@task(task_run_name="read-extra-file", cache_policy=NO_CACHE)
def read_extra_file(path: str, now: datetime) -> ReadReport:
    """Read one canonical file as of `now` (no side effect; it may be read again by later scans)."""
    report = read_canonical_file(Path(path).resolve(), MANUAL, now, local_zone(), clock=datetime.now(UTC))
    _log(report)
    return report


@task(cache_policy=NO_CACHE)
def analyse_mentions(mentions: list[RawMention], fetched_at: datetime) -> list[dict[str, object]]:
    """Analyse a batch (jieba tokens, sentiment, brand, category, hashes) into mention rows.

    No cache: hashing a 100,000-mention batch for a cache key costs more than it could save, and a
    lexicon or model change must give new results for the same texts. An empty batch loads no model."""
    if not mentions:
        return []
    with collector_paused():
        return _mention_rows(mentions, fetched_at)


def _mention_rows(mentions: list[RawMention], fetched_at: datetime) -> list[dict[str, object]]:
    results = analyse_many([m.text for m in mentions], lexicon_data(), get_settings().analysis.negative_below,
                           get_model())
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
            "content_hash": m.content_hash or a.content_hash,  # a cut text keeps its whole text's
            "simhash": f"{a.simhash:016x}",
            "sentiment": a.positive,
            "negative": a.negative,
            "category": a.category,
            "brand": a.brand,
            "product": a.product,
            "critical_terms": stored_terms(a.critical_terms),
            "claims": stored_terms(a.health_claims),
            "debunk": a.debunk,
            "repost_of": m.repost_of,
            "reposts": m.reposts,
            "comments": m.comments,
            "likes": m.likes,
            # the other watched brands it names (a key only when there are any: most posts name one)
            **({ALSO_BRANDS: a.also} if a.also else {}),
        }
        for m, a in zip(mentions, results, strict=True)
    ]


@task(retries=3, retry_delay_seconds=[1, 4, 10], retry_jitter_factor=0.5, retry_condition_fn=retry_transient_db,
      cache_policy=NO_CACHE)
def store_mentions(rows: list[dict[str, object]]) -> int:
    """Insert mentions not seen before, link near-duplicates to the earlier mention they repeat, and resolve
    platform reposts (`repost_of`): a repost takes its original's brand, category and polarity and links to
    it, whether the original came in this batch, before, or only now (after its reposts). Engagement counts
    read again higher are raised on the stored mention.

    Safe to re-run: (source, external_id) already stored are skipped, links are set only on new rows, a
    resolved repost resolves to the same again, and counts only ever go up.
    """
    if not rows:
        return 0
    with collector_paused(), session_scope() as session:
        inserted, linked = repository.store_new_mentions(session, rows, DUPLICATE_WINDOW)
        spread = resolve_stored_reposts(session, rows)
    get_run_logger().info("新入库 %d 条提及（共读到 %d 条）；识别近似重复 %d 条，转发归源 %d 条",
                          inserted, len(rows), linked, spread)
    return inserted


def resolve_stored_reposts(session: Session, rows: Sequence[dict[str, object]]) -> int:
    """Resolve the batch's reposts whose original is stored, and the stored reposts of the batch's posts;
    return how many reposts changed. Each round's changed reposts are originals to the next round's."""
    batch: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for row in rows:
        reposts, posts = batch[str(row["source"])]
        posts.append(str(row["external_id"]))
        if row.get("repost_of"):
            reposts.append(str(row["external_id"]))
    changed = 0
    for source in repository.sources_with_reposts(session, set(batch)):
        reposts, posts = batch[source]
        for _ in range(REPOST_DEPTH):
            pairs = {p.repost_id: p for p in repository.repost_pairs(session, source, reposts, posts)}
            changes = resolve_reposts(pairs.values())
            if not changes:
                break
            repository.apply_spread(session, changes)
            changed += len(changes)
            reposts, posts = [], [pairs[key].repost_external_id for key in changes]
    return changed


@task(retries=3, retry_delay_seconds=[1, 4, 10], retry_jitter_factor=0.5, retry_condition_fn=retry_transient_db,
      cache_policy=NO_CACHE)
def save_source_progress(outcomes: list[SourceOutcome], now: datetime) -> list[dict[str, object]]:
    """Save each source's watermark or cursor, the drop files it read, and its health; return the health records.

    Run after store_mentions. Safe to re-run: the same values are written again, files recorded once.
    """
    with session_scope() as session:
        for outcome in outcomes:
            if outcome.progress is not None:
                repository.save_progress(session, outcome.source, outcome.progress, now)
            repository.record_files(session, outcome.source, outcome.files, now)
            repository.record_health(session, outcome, now)
    return source_health_rows()


def source_health_rows() -> list[dict[str, object]]:
    """Return every configured source's health record: name, kind, status code, times, last error, counts."""
    configured = [(s.name, s.kind, s.enabled) for s in load_sources().all()]
    with session_scope() as session:
        stored = repository.stored_health(session)
    return health.records(health.merge_with_config(stored, configured))


@task
def publish_source_health(rows: list[dict[str, object]]) -> None:
    """Update the `source-health` table artifact (one row per configured source, in Chinese)."""
    create_table_artifact(key="source-health", table=health.display(rows, show_time),
                          description=health.DESCRIPTION)
