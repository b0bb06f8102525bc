"""What a big story closed as 误报 costs every later scan's detection (`make bench`, "dismissed").

Three SQLite databases hold the same generated week (ordinary traffic, and one crisis of another brand whose
incident stays open). Two also hold a complaint about 澄星 and DISMISSED_REPOSTS bare reposts of it over the
three days before the timed scan (a third in the last day): in one its incident is left open, in the other it
is closed as a false alarm through `dismiss_incident` (what `crisis close --as false_alarm` calls). After an
untimed warm-up round, each round times `update_incidents` (the scan's detection step, the path every scan
runs) on the three, back to back. The goal: the dismissed story costs a scan no more than the same story left
open (it is told apart in the database, not read post by post); against the week alone it is reported.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.comparisons import comparison
from benchmarks.metrics import ratio

DISMISSED_REPOSTS = 100_000
ROUNDS = 5
CASES = ("without", "open", "dismissed")  # the week alone; with the story's incident open; with it closed as 误报
GOAL = 1.0  # closing the story as 误报 must not make later scans slower than leaving it open
COMPLAINT = ("上周在旗舰店买的澄星空气炸锅，用了两天就坏了，加热的时候一直冒黑烟，还有一股塑料烧焦的味道，联系客服三次都"
             "没有人处理，大家千万别买，太失望了")


def _story(start: datetime, end: datetime, path: Path) -> Path:
    """Write the complaint at `start` and its reposts: the first 300 in its first 40 minutes (they open the
    incident), then two thirds of the rest up to a day before `end`, the last third in that day."""
    rows = [{"id": "story", "text": COMPLAINT, "author": "小号用户", "reach": 800, "published_at": start.isoformat(),
             "platform": "微博"}]
    early, rest = 300, DISMISSED_REPOSTS - 300
    spans = [(start + timedelta(minutes=1), start + timedelta(minutes=40), early),
             (start + timedelta(minutes=41), end - timedelta(days=1), rest * 2 // 3),
             (end - timedelta(days=1), end - timedelta(minutes=1), rest - rest * 2 // 3)]
    for first, last, count in spans:
        for i in range(count):
            at = first + (last - first) * i / count
            rows.append({"id": f"rt{len(rows)}", "text": ("转发微博", "求扩散", "@某人 //转发")[len(rows) % 3],
                         "author": f"路人{len(rows)}", "reach": 150, "published_at": at.isoformat(), "platform": "微博",
                         "repost_of": "story"})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _scan_file(path: Path, now: datetime) -> list:  # type: ignore[type-arg]
    """Read, analyse, store and detect as a scan of the file as of `now` does; return the incident changes."""
    from tasks.common import local_zone
    from tasks.monitoring.sources import read_canonical_file
    from tasks.monitoring.tasks import analyse_mentions, store_mentions
    from tasks.triage.tasks import update_incidents

    mentions = read_canonical_file(path, "manual", now, local_zone()).mentions
    store_mentions.fn(analyse_mentions.fn(mentions, now))
    return update_incidents.fn(now, "bench")


def _prepare(var: Path, end: datetime, case: str) -> None:
    """Store the week (and the dismissed story) in the app database the environment points at. Both databases
    go through the same detection steps, at the same times, so they differ only by the story."""
    from sqlalchemy import select

    from tasks.aftercare.tasks import dismiss_incident
    from tasks.db import session_scope
    from tasks.incidents.state import Resolution
    from tasks.models import Incident, Mention
    from tasks.scenario.files import write_mentions
    from tasks.scenario.week import generate_scenario
    from tasks.triage.tasks import update_incidents

    week = var / "week.jsonl"
    # the week's own crisis is another brand's, so the story opens an incident of its own
    write_mentions(generate_scenario(7, end - timedelta(hours=1), days=7, crisis_brand="青禾"), week)
    _scan_file(week, end - timedelta(hours=1))
    start = end - timedelta(days=3)
    if case == "without":
        update_incidents.fn(start + timedelta(minutes=20), "bench")
        update_incidents.fn(end, "bench")
        return
    story = _story(start, end, var / "story.jsonl")
    _scan_file(story, start + timedelta(minutes=20))
    with session_scope() as session:
        key = session.scalar(select(Incident.key).join(Mention, Mention.incident_id == Incident.id)
                             .where(Mention.external_id == "story"))
    if key is None:
        raise RuntimeError("the story opened no incident")
    if case == "dismissed":
        dismiss_incident(key, Resolution.FALSE_ALARM, "核实为正常讨论", "基准测试", start + timedelta(minutes=25))
    _scan_file(story, end)  # the rest of the story, and the detection that takes its reposts in
    with session_scope() as session:
        held = session.scalar(select(Incident.key).join(Mention, Mention.incident_id == Incident.id)
                              .where(Mention.external_id == f"rt{DISMISSED_REPOSTS}"))
    if held != key:  # the scans between were skipped: its incident holds it however long it was quiet
        raise RuntimeError(f"the story's last repost is held by {held}, not by its incident {key}")


@contextmanager
def _database(var: Path) -> Iterator[None]:
    from prefect.logging import disable_run_logger

    from benchmarks.data import app_database

    with app_database(var), disable_run_logger():
        yield


def bench_dismissed() -> dict[str, object]:
    from tasks.triage.tasks import update_incidents

    end = datetime.fromisoformat("2026-11-27T12:00:00+08:00")
    seconds: dict[str, list[float]] = {case: [] for case in CASES}
    with ExitStack() as stack:
        folders = {case: Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"crisis-bench-{case}-")))
                   for case in CASES}
        for case, folder in folders.items():
            with _database(folder):
                _prepare(folder, end, case)
        for round_ in range(ROUNDS + 1):  # round 0 warms each database's pages and the code up, untimed
            for case, folder in folders.items():
                with _database(folder):
                    start = time.perf_counter()
                    changes = update_incidents.fn(end, "bench")
                    if round_:
                        seconds[case].append(time.perf_counter() - start)
                    if any(c.kind == "opened" for c in changes):
                        raise RuntimeError(f"{case}: detection opened an incident at the timed scan")
    median = {case: statistics.median(values) for case, values in seconds.items()}
    rows = []
    for baseline, label, goal in (("open", "the same story left open", GOAL),
                                  ("without", "the same week without it", None)):
        paired = [ratio(d, b) for d, b in zip(seconds["dismissed"], seconds[baseline], strict=True)]
        row = comparison(f"detection with a dismissed story of {DISMISSED_REPOSTS:,} posts"
                         + (f" (goal ≤ {goal:g}×)" if goal else ""),
                         median["dismissed"] * 1000, "ms", label, median[baseline] * 1000, None, paired)
        if goal:
            row = {**row, "goal_text": f"≤ {goal:g}×", "meets_goal": float(row["ratio"]) <= goal}  # type: ignore[arg-type]
        rows.append(row)
    return {"posts": DISMISSED_REPOSTS + 1, "rounds": ROUNDS,
            "seconds": {case: [round(v, 4) for v in values] for case, values in seconds.items()},
            "comparisons": rows}
