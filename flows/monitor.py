"""Monitoring runbook (舆情监测): one scan of every source, then triage."""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import quote

from flows.forms import Now, optional, plain_parameters, run_name
from flows.triage import triage_mentions
from tasks.audit_anchor import publish_audit_head
from tasks.common import resolve_now
from tasks.monitoring.results import MANUAL, collect_reads, fail_on_source_errors, scan_summary
from tasks.monitoring.tasks import (
    analyse_mentions,
    list_sources,
    publish_source_health,
    read_extra_file,
    read_source,
    save_source_progress,
    store_mentions,
)

ExtraFile = optional(str, "附加文件", "服务器上的一份 JSONL/CSV/XLSX 舆情文件（标准格式），每次扫描都会重读；可不填")


@plain_parameters
@flow(name="scan", flow_run_name=run_name("scan"), log_prints=True)
def scan(now: Now = None, extra_file: ExtraFile = None) -> dict[str, object]:
    """Scan every enabled source as of `now`, store what is new, and triage.

    1) read every enabled source of config/sources.toml at once (drop folders, RSS/Atom feeds, platform
       APIs, the shop's database) from where its last scan left off, plus `extra_file` (canonical
       JSONL/CSV/XLSX, read again at every scan); bad records are named, the good ones kept;
    2) analyse the batch (jieba, snownlp, lexicon); 3) store new mentions, linking reposts and
       near-duplicates (a rescan adds nothing); 4) save each source's watermark, files read and health;
    5) triage, with the sources' health on the board; 6) publish the `source-health` table;
    7) publish the audit chain's head to the anchor file outside the database.
    Partial failure: a source that cannot be read stops no other; triage runs on what the others
    brought, then the run ends Failed naming every failed source.
    """
    at = resolve_now(now)
    futures = {name: read_source.submit(name, at) for name in list_sources()}
    if extra_file:
        futures[MANUAL] = read_extra_file.submit(extra_file, at)
    reads = collect_reads(futures)
    # quote(): hand the batch over as it is; unquoted, Prefect walks every mention looking for futures (~0.6 ms each)
    rows = analyse_mentions(quote(reads.mentions), at)
    stored = store_mentions(quote(rows))
    health = save_source_progress(reads.outcomes, at)
    changes = triage_mentions(window_end=at, source_health=health)
    publish_source_health(health)
    publish_audit_head(at)
    result = scan_summary(at, reads, stored, changes)
    fail_on_source_errors(reads)
    return result
