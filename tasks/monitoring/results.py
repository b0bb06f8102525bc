"""What a scan's reads came to: gathered from the read tasks, summarised for the run's result, and the
partial-failure policy (a source that failed ends the run Failed, after the others were stored and triaged)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from prefect.futures import PrefectFuture

from config.files import load_sources
from tasks.errors import CrisisError
from tasks.monitoring.errors import SourcesFailed
from tasks.monitoring.health import SourceOutcome
from tasks.monitoring.sources import RawMention, ReadReport

MANUAL = "manual"


@dataclass
class ScanReads:
    reports: list[ReadReport] = field(default_factory=list)
    outcomes: list[SourceOutcome] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def mentions(self) -> list[RawMention]:
        return [m for report in self.reports for m in report.mentions]


def _describe(error: BaseException) -> str:
    return str(error) if isinstance(error, CrisisError) else f"读取出错（{type(error).__name__}: {error}）"


def outcome_of(report: ReadReport) -> SourceOutcome:
    """Return what a successful read comes to for the source's progress and health."""
    return SourceOutcome(report.source, report.kind, None, len(report.mentions), len(report.problems),
                         len(report.waiting), report.progress, tuple(report.files))


def collect_reads(futures: Mapping[str, PrefectFuture[ReadReport]]) -> ScanReads:
    """Wait for every read; keep what each source brought or why it failed (a failure stops no other)."""
    kinds = {s.name: s.kind for s in load_sources().all()}
    reads = ScanReads()
    for name, future in futures.items():
        result = future.result(raise_on_failure=False)
        if isinstance(result, ReadReport):
            reads.reports.append(result)
            outcome = outcome_of(result)
        else:
            error = _describe(result) if isinstance(result, BaseException) else f"读取没有结果（{result!r}）"
            reads.failures[name] = error
            outcome = SourceOutcome(name, kinds.get(name, "file"), error)
        if name != MANUAL:
            reads.outcomes.append(outcome)
    return reads


def scan_summary(now: datetime, reads: ScanReads, stored: int, changes: list[dict[str, object]]) -> dict[str, object]:
    """Return the scan's result: counts, every bad record and waiting file named, each source's status."""
    per_source: dict[str, object] = {
        r.source: {"status": "partial" if r.problems else "ok", "read": len(r.mentions), "bad": len(r.problems),
                   "waiting": r.not_yet_published + len(r.waiting)}
        for r in reads.reports
    }
    per_source.update({name: {"status": "failing", "error": error} for name, error in reads.failures.items()})
    return {
        "now": now.isoformat(),
        "read": len(reads.mentions),
        "new": stored,
        "bad_rows": [p for report in reads.reports for p in report.problems],
        "waiting": [w for report in reads.reports for w in report.waiting],
        "sources": per_source,
        "changes": changes,
    }


def fail_on_source_errors(reads: ScanReads) -> None:
    """Raise SourcesFailed naming every source that could not be read (the run then ends Failed)."""
    if reads.failures:
        raise SourcesFailed(reads.failures)
