"""Replay of a simulated week through the real scan and triage code (issue 4; `make eval`, "replay").

The week (tasks.scenario.week.generate_week: ordinary chatter, a 双11-like surge, one injected crisis per
category) is written as canonical JSONL and replayed by `crisis replay`'s own runner (tasks.replay.runner:
read through the file source, then a scan every SCAN_MINUTES simulated minutes stores the rows published
since the previous scan and triages at the scan time), on whatever app database is configured
(evaluate_replay uses the runner's throwaway SQLite one), watching lexicon.toml's brands only.

Each crisis is matched to the first incident of its brand (of its own category first) detected between
one scan before its start and MATCH_HOURS after it; every other incident is a false positive. Nobody
acknowledges or resolves anything in a replay, and every negative mention of an incident's brand and
category keeps it fresh (dedup_hours), so an incident absorbs its brand x category for the rest of the
week: the standard week gives every crisis its own brand x category.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from tasks.db import session_scope
from tasks.incidents.state import LEVELS
from tasks.models import DetectionHit, Incident, IncidentMetric
from tasks.replay.runner import read_posts, scan_all, throwaway_database
from tasks.scenario.files import write_mentions
from tasks.scenario.week import CrisisSpec, SurgeSpec, Week, generate_week

SCAN_MINUTES = 30
MAX_SCANS_TO_OPEN = 2
MATCH_HOURS = 6  # an incident opened later than this after a crisis starts is not its detection
SEED = 20251111
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai; the week starts 7 days earlier
SHANGHAI_OFFSET = timedelta(hours=8)


def _local(day: int, hour: int, minute: int) -> datetime:
    """Return 2026-11-<day> hour:minute Asia/Shanghai as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - SHANGHAI_OFFSET


def standard_crises() -> tuple[CrisisSpec, ...]:
    """One crisis per category, sizes mixed, on different days, brands and minutes past the scan.

    Intended levels are what a duty manager would give them: a small quality or price flare-up is
    一般 (IV), a medium service one 较大 (III); a privacy leak is 重大 (II) at least; a large food-safety
    crisis with several big accounts is 特别重大 (I), a large logistics one 重大 (II).
    """
    return (
        CrisisSpec("澄星", "澄星空气炸锅", "产品质量", _local(15, 10, 20), "small", "IV"),
        CrisisSpec("青禾", "青禾牛奶", "人身安全/食品安全", _local(16, 14, 5), "large", "I"),
        CrisisSpec("木棉优选", "木棉毛巾", "售后服务", _local(17, 21, 40), "medium", "III"),
        CrisisSpec("澄星", "澄星电水壶", "物流配送", _local(18, 9, 10), "large", "II"),
        CrisisSpec("青禾", "青禾坚果礼盒", "价格/虚假宣传", _local(19, 16, 50), "small", "IV"),
        CrisisSpec("木棉优选", "木棉羽绒被", "个人信息泄露", _local(20, 11, 25), "medium", "II"),
    )


def standard_surge() -> SurgeSpec:
    """A 双11-like night: six times the praise and neutral talk of every brand, 20:00-24:00."""
    return SurgeSpec(_local(14, 20, 0), hours=4.0, multiplier=6.0)


def standard_week(seed: int = SEED) -> Week:
    """Return the evaluation week: 7 days to END, six crises, one surge."""
    return generate_week(seed, END, days=7, crises=standard_crises(), surge=standard_surge())


@dataclass(frozen=True)
class Opened:
    """An incident the replay opened."""

    key: str
    brand: str
    category: str
    level_at_open: str
    level: str
    heat_at_open: float
    heat: float
    detected_at: datetime
    rules: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class CrisisOutcome:
    """How the system met one injected crisis."""

    crisis: CrisisSpec
    incident: Opened | None
    scans_to_open: int | None
    absorbed_by: str | None = None  # an earlier incident of the same brand and category that took it in

    @property
    def category_ok(self) -> bool:
        return self.incident is not None and self.incident.category == self.crisis.category

    @property
    def level_gap(self) -> int | None:
        """Levels between the incident's highest level and the intended one; None if never opened."""
        return None if self.incident is None else _gap(self.incident.level, self.crisis.intended_level)

    @property
    def open_level_gap(self) -> int | None:
        """Levels between the incident's level when it opened and the intended one; None if never opened."""
        return None if self.incident is None else _gap(self.incident.level_at_open, self.crisis.intended_level)

    @property
    def in_time(self) -> bool:
        return self.scans_to_open is not None and self.scans_to_open <= MAX_SCANS_TO_OPEN

    @property
    def ok(self) -> bool:
        gaps = (self.level_gap, self.open_level_gap)
        return self.in_time and self.category_ok and all(g is not None and g <= 1 for g in gaps)


def _gap(level: str, intended: str) -> int:
    return abs(LEVELS.index(level) - LEVELS.index(intended))


@dataclass(frozen=True)
class ReplayResult:
    outcomes: tuple[CrisisOutcome, ...]
    false_positives: tuple[Opened, ...]
    scans: int
    mentions: int
    seconds: float

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and not self.false_positives

    def as_dict(self) -> dict[str, object]:
        """Return the result as JSON-able data (times ISO 8601 in UTC)."""
        crises = [{
            **_plain(asdict(o.crisis)), "incident": _plain(asdict(o.incident)) if o.incident else None,
            "scans_to_open": o.scans_to_open, "absorbed_by": o.absorbed_by, "category_ok": o.category_ok,
            "level_gap": o.level_gap, "open_level_gap": o.open_level_gap, "ok": o.ok,
        } for o in self.outcomes]
        return {
            "scan_minutes": SCAN_MINUTES, "scans": self.scans, "mentions": self.mentions, "ok": self.ok,
            "goal": f"every crisis opened within {MAX_SCANS_TO_OPEN} scans, right category, level within one; "
                    "no other incident",
            "crises": crises, "false_positives": [_plain(asdict(f)) for f in self.false_positives],
            "seconds": self.seconds,
        }


def _plain(data: dict[str, object]) -> dict[str, object]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def scan_times(start: datetime, end: datetime, minutes: int = SCAN_MINUTES) -> list[datetime]:
    """Return the scan grid: every `minutes` after `start` (aligned to the clock) up to `end`."""
    step = minutes * 60
    first = math.floor(start.timestamp() / step) * step + step
    return [datetime.fromtimestamp(t, UTC) for t in range(first, int(end.timestamp()) + 1, step)]


def run_scans(path: Path, start: datetime, end: datetime) -> tuple[int, dict[str, str]]:
    """Scan the file every SCAN_MINUTES from `start` to `end` with `crisis replay`'s runner; return (scans,
    level at opening by key). Each scan stores only its own rows, which is what a scan re-reading the whole
    file would store (older rows are already in the database)."""
    scans = scan_times(start, end)
    log = scan_all(read_posts(path), scans)
    return len(scans), {key: str(level) for key, level in log.opened.items()}


def _incidents(levels_at_open: dict[str, str]) -> list[Opened]:
    """Return every incident with the rules enforced in the scan that opened it."""
    with session_scope() as session:
        found = []
        for incident in session.scalars(select(Incident).order_by(Incident.detected_at, Incident.id)):
            rules = session.scalars(select(DetectionHit.rule).where(
                DetectionHit.incident_id == incident.id, DetectionHit.window_end == incident.detected_at)).all()
            first_heat = session.scalar(select(IncidentMetric.heat).where(
                IncidentMetric.incident_id == incident.id, IncidentMetric.window_end == incident.detected_at))
            found.append(Opened(
                key=incident.key, brand=incident.brand, category=incident.category,
                level_at_open=levels_at_open.get(incident.key, incident.level), level=incident.level,
                heat_at_open=first_heat if first_heat is not None else incident.heat, heat=incident.heat,
                detected_at=incident.detected_at, rules=tuple(sorted(set(rules))), reason=incident.trigger_reason,
            ))
    return found


def match(crises: tuple[CrisisSpec, ...], incidents: list[Opened]) -> tuple[list[CrisisOutcome], list[Opened]]:
    """Pair each crisis with the first unclaimed incident of its brand detected from a scan before its start
    to MATCH_HOURS after it (one of its own category first); the incidents left over are false positives.

    A crisis whose brand and category already had an incident gets none of its own (the active incident
    absorbs it): it is reported unopened, with the absorbing incident's key.
    """
    claimed: set[str] = set()
    outcomes = []
    for crisis in sorted(crises, key=lambda c: c.start):
        since, until = crisis.start - timedelta(minutes=SCAN_MINUTES), crisis.start + timedelta(hours=MATCH_HOURS)
        near = [i for i in incidents if i.brand == crisis.brand and since <= i.detected_at <= until
                and i.key not in claimed]
        incident = next((i for i in near if i.category == crisis.category), near[0] if near else None)
        scans, absorbed_by = None, None
        if incident is not None:
            claimed.add(incident.key)
            scans = max(0, math.ceil((incident.detected_at - crisis.start) / timedelta(minutes=SCAN_MINUTES)))
        else:
            absorbed_by = next((i.key for i in incidents if (i.brand, i.category) == (crisis.brand, crisis.category)
                                and i.detected_at < since), None)
        outcomes.append(CrisisOutcome(crisis, incident, scans, absorbed_by))
    return outcomes, [i for i in incidents if i.key not in claimed]


def replay_week(week: Week, folder: Path) -> ReplayResult:
    """Write the week to `folder`, scan it every SCAN_MINUTES through the configured database, grade it."""
    started = time.perf_counter()
    path = folder / "week.jsonl"
    write_mentions(week, path)
    scans, levels_at_open = run_scans(path, week.start, week.end)
    outcomes, false_positives = match(week.crises, _incidents(levels_at_open))
    return ReplayResult(tuple(outcomes), tuple(false_positives), scans, len(week.mentions),
                        round(time.perf_counter() - started, 1))


def evaluate_replay(seed: int = SEED) -> ReplayResult:
    """Replay the standard week on a throwaway SQLite database (what `make eval` reports)."""
    with tempfile.TemporaryDirectory(prefix="crisis-replay-") as tmp, throwaway_database():
        return replay_week(standard_week(seed), Path(tmp))


def _shown(at: datetime) -> str:
    return (at + SHANGHAI_OFFSET).strftime("%m-%d %H:%M")


def render(result: ReplayResult, console: Console) -> None:
    """Print one row per injected crisis, then the false positives."""
    table = Table(title=f"Replay: {result.mentions:,} simulated mentions, {result.scans} scans every {SCAN_MINUTES} "
                  f"min (goal: opened within {MAX_SCANS_TO_OPEN} scans, right category, level within one; "
                  "nothing else opens)", title_justify="left")
    for name in ("crisis (start, Shanghai)", "size", "category", "intended", "level open → peak",
                 "heat open → peak", "scans to open", "rules", "category ok", ""):
        table.add_column(name, no_wrap=name != "rules")
    for o in result.outcomes:
        c, i = o.crisis, o.incident
        table.add_row(
            f"{c.product} {_shown(c.start)}", c.size, c.category, c.intended_level,
            f"{i.level_at_open} → {i.level}" if i else "–", f"{i.heat_at_open:.1f} → {i.heat:.1f}" if i else "–",
            "–" if o.scans_to_open is None else str(o.scans_to_open), ", ".join(i.rules) if i else
            (f"absorbed by {o.absorbed_by}" if o.absorbed_by else "never opened"),
            ("yes" if o.category_ok else f"no ({i.category})") if i else "–",
            "[green]ok[/]" if o.ok else "[red]missed[/]",
        )
    console.print(table)
    if not result.false_positives:
        console.print("[green]no false positive[/] (no incident from ordinary chatter or the surge)")
        return
    fp = Table(title=f"False positives: {len(result.false_positives)} incidents matching no crisis",
               title_justify="left")
    for name in ("incident", "detected (Shanghai)", "brand", "category", "level", "rules", "reason"):
        fp.add_column(name)
    for f in result.false_positives:
        fp.add_row(f.key, _shown(f.detected_at), f.brand, f.category, f.level, ", ".join(f.rules), f.reason[:90])
    console.print(fp)
