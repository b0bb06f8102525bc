"""Replay an export through the scan's own code (`crisis replay`, `make eval`'s replays).

Each file is read once by the file source's reader (tasks.monitoring.sources.read_canonical_file) and
replayed on a throwaway SQLite database: at every scan the posts published since the previous scan are
analysed and stored (analyse_mentions, store_mentions) and incidents are triaged at the scan's time
(update_incidents, then flag_rumours, as the triage flow does), each called in-process with `.fn`, as the scan flow calls them, with no Prefect server.
The watched names are added to the lexicon for the replay only (tasks.monitoring.lexicon.watching).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect.logging import disable_run_logger

from config.detection import load_detection
from tasks.common import local_zone
from tasks.db import database_at, session_scope, upgrade_database
from tasks.errors import CrisisError
from tasks.incidents.state import Level
from tasks.monitoring.lexicon import watching
from tasks.monitoring.sentiment_model import get_model
from tasks.monitoring.sources import RawMention, read_canonical_file
from tasks.monitoring.tasks import analyse_mentions, store_mentions
from tasks.replay import repository
from tasks.replay.plan import ReplayPlan, ReplayRow, busy_scans, by_scan, scan_times
from tasks.triage import repository as triage_repository
from tasks.triage.rumour_tasks import flag_rumours
from tasks.triage.tasks import update_incidents

SOURCE = "replay"
ACTOR = "replay"
_UNDATED = datetime(9999, 1, 1, tzinfo=UTC)  # what the reader gives a row without published_at here
_SHOWN_PROBLEMS = 3


class ReplayFileInvalid(CrisisError):
    """A file cannot be replayed; the message names the file and its first bad rows."""


@dataclass
class ScanLog:
    """What the scans of a replay did: the level each incident opened at, and how many scans ran."""

    opened: dict[str, Level] = field(default_factory=dict)
    scans: int = 0
    scans_run: int = 0
    watched_at: datetime | None = None  # the first scan that listed a post as 待核实 (spreading_watch)


@dataclass(frozen=True)
class ReplayOutcome:
    row: ReplayRow
    posts: int  # replayed: published by the last scan
    log: ScanLog
    seconds: float
    beyond: int = 0  # published after the last scan (past --horizon): never seen by the replay
    last_post_at: datetime | None = None


def read_posts(path: Path) -> list[RawMention]:
    """Return every post of a canonical file, sorted by time; ReplayFileInvalid names the bad rows (a replay
    of part of a file would not be the file's)."""
    if not path.is_file():
        raise ReplayFileInvalid(f"{path}: 文件不存在")
    report = read_canonical_file(path, SOURCE, _UNDATED, local_zone())
    problems = report.problems + [f"{path}: id {m.external_id}: published_at: 缺少发布时间（回放需要每条帖子的时间）"
                                  for m in report.mentions if m.published_at == _UNDATED]
    if problems:
        more = f"（另有 {len(problems) - _SHOWN_PROBLEMS} 行有误）" if len(problems) > _SHOWN_PROBLEMS else ""
        raise ReplayFileInvalid(f"{path}: {len(problems)} 行无法回放：" + "；".join(problems[:_SHOWN_PROBLEMS]) + more)
    if not report.mentions:
        raise ReplayFileInvalid(f"{path}: 没有可回放的帖子")
    return sorted(report.mentions, key=lambda m: m.published_at)


@contextmanager
def throwaway_database() -> Iterator[Path]:
    """Run the app on a fresh, migrated SQLite database in a temporary folder while the block runs; the
    configured database is untouched and in use again afterwards."""
    with tempfile.TemporaryDirectory(prefix="crisis-replay-") as tmp:
        path = Path(tmp) / "replay.db"
        with database_at(f"sqlite:///{path}"):
            upgrade_database()
            yield path


def scan_all(posts: Sequence[RawMention], scans: Sequence[datetime], *, skip_idle: bool = True,
             advance: Callable[[int], None] | None = None) -> ScanLog:
    """Scan the posts at each time of `scans` on the app database as it is configured now: store what was
    published since the previous scan, then triage at the scan's time. With `skip_idle`, scans that would
    triage nothing (plan.busy_scans) are not run. `advance(1)` after every scan."""
    window = timedelta(minutes=load_detection().window_minutes)
    published = [p.published_at for p in posts]
    log = ScanLog(scans=len(scans))
    with disable_run_logger():
        # Analysis reads only the text, so one batch gives every scan's rows; each scan stores its own as it fetched them.
        rows = analyse_mentions.fn(list(posts), scans[0]) if posts else []
        for at, batch, needed in zip(scans, by_scan(published, scans), busy_scans(published, scans, window),
                                     strict=True):
            if batch:
                store_mentions.fn([{**rows[i], "fetched_at": at} for i in batch])
            if needed or not skip_idle:
                log.scans_run += 1
                for change in update_incidents.fn(at, ACTOR):
                    if change.kind == "opened":
                        log.opened[change.incident_key] = change.level
                flag_rumours.fn(at, ACTOR)
                if log.watched_at is None and _listed_to_verify(at):
                    log.watched_at = at
            if advance is not None:
                advance(1)
    return log


def _listed_to_verify(at: datetime) -> bool:
    with session_scope() as session:
        return bool(triage_repository.watch_hits(session, at))


def replay_file(path: Path, plan: ReplayPlan, *, skip_idle: bool = True,
                advance: Callable[[int], None] | None = None) -> ReplayOutcome:
    """Replay one file on its own throwaway database and return its row; ReplayFileInvalid for a bad file."""
    started = time.perf_counter()
    posts = read_posts(path)
    first = posts[0].published_at
    scans = scan_times(first, plan)
    get_model()  # built, if it must be, from lexicon.toml alone, never with the replay's watched names
    with watching(plan.watch), throwaway_database():
        log = scan_all(posts, scans, skip_idle=skip_idle, advance=advance)
        with session_scope() as session:
            opened = repository.opened_incidents(session)
    zone = local_zone()
    shown = tuple(replace(o, detected_at=o.detected_at.astimezone(zone)) for o in opened)
    row = ReplayRow(file=str(path), first_post_at=first.astimezone(zone), incidents=shown,
                    listed_at=log.watched_at.astimezone(zone) if log.watched_at else None)
    replayed = sum(p.published_at <= scans[-1] for p in posts)
    return ReplayOutcome(row, replayed, log, round(time.perf_counter() - started, 2), len(posts) - replayed,
                         posts[-1].published_at.astimezone(zone))
