"""Monitoring runbook (舆情监测): one scan of every source, then triage."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows.triage import triage_mentions
from tasks.common import resolve_now
from tasks.monitoring.tasks import analyse_mentions, list_source_files, read_source_file, store_mentions


@flow(name="scan", log_prints=True)
def scan(now: datetime | None = None, extra_file: str | None = None) -> dict[str, object]:
    """Scan the sources as of `now` and triage what was found.

    1) list the files of every enabled source (and `extra_file`, canonical JSONL/CSV);
    2) read each as of `now`, naming bad rows; 3) analyse the batch (jieba, snownlp, lexicon);
    4) store new mentions (a rescan adds nothing); 5) triage.
    """
    at = resolve_now(now)
    reports = [read_source_file(path, source, at) for source, path in list_source_files(extra_file)]
    mentions = [m for report in reports for m in report.mentions]
    stored = store_mentions(analyse_mentions(mentions, at))
    changes = triage_mentions(window_end=at)
    return {
        "now": at.isoformat(),
        "read": len(mentions),
        "new": stored,
        "bad_rows": [p for report in reports for p in report.problems],
        "changes": changes,
    }
