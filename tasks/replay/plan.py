"""What a replay does and reports, as plain data. Pure.

A replay scans a file every `step` from its first post to `horizon` after it. Each scan stores the posts
published since the previous one and triages at the scan's time. A scan is skipped only when triage would
find nothing to look at: every group it builds needs a post of its brand from the last day (or the last
window, when that is longer), so a scan with no post at all that recent opens, updates and records nothing.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# The columns in its order, then when the 待核实 board first listed a post (empty when it never did): a
# backtest that opens nothing may still have put the story in front of a person.
COLUMNS = ("file", "first_post_at", "opened_at", "minutes", "incident_key", "category", "level", "incidents",
           "possible_rumour", "listed_at")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)\s*$", re.IGNORECASE)
_UNITS = {"m": timedelta(minutes=1), "min": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
DAY = timedelta(days=1)


class ReplayPlanInvalid(ValueError):
    """A step, horizon or watch term cannot be used; the message says which and why."""


def parse_duration(text: str) -> timedelta:
    """Parse "5m", "90min", "48h", "1.5d" into a positive timedelta, or raise ReplayPlanInvalid."""
    match = _DURATION.match(text)
    if not match:
        raise ReplayPlanInvalid(f"时长格式不对：{text!r}（例如 5m、48h、1d）")
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if value <= timedelta(0):
        raise ReplayPlanInvalid(f"时长必须大于 0：{text!r}")
    return value


def parse_watch_terms(terms: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Return the watched names of `--watch` terms: "A|B" watches one name, A, under the aliases A and B (as a
    lexicon.toml brand with aliases = [A, B]); the same name twice gathers its aliases."""
    watched: dict[str, tuple[str, ...]] = {}
    for term in terms:
        aliases = [alias.strip() for alias in term.split("|")]
        if not term.strip() or any(not alias for alias in aliases):
            raise ReplayPlanInvalid(f"监测词不能为空：{term!r}（多个别名用 | 分隔，例如 三鹿|三鹿奶粉）")
        name = aliases[0]
        watched[name] = tuple(dict.fromkeys([*watched.get(name, ()), *aliases]))
    if not watched:
        raise ReplayPlanInvalid("至少给一个 --watch 监测词")
    return watched


@dataclass(frozen=True)
class ReplayPlan:
    """What to watch (name -> aliases) and how to scan: every `step` from the first post to `horizon` after it."""

    watch: Mapping[str, Sequence[str]]
    step: timedelta = timedelta(minutes=5)
    horizon: timedelta = timedelta(hours=48)

    def __post_init__(self) -> None:
        if self.step <= timedelta(0) or self.step > self.horizon:
            raise ReplayPlanInvalid(f"扫描间隔 {self.step} 必须大于 0 且不长于回放时长 {self.horizon}")

    @property
    def scans(self) -> int:
        return int(self.horizon / self.step)


def scan_times(first_post: datetime, plan: ReplayPlan) -> list[datetime]:
    """Return the scans: every step after the first post, up to the horizon after it (48 h at 5 min: 576)."""
    return [first_post + plan.step * k for k in range(1, plan.scans + 1)]


def by_scan(published: Sequence[datetime], scans: Sequence[datetime]) -> list[list[int]]:
    """Return, per scan, the indices of the posts it is the first to see (published at or before it);
    posts after the last scan are in none."""
    slots: list[list[int]] = [[] for _ in scans]
    for index, at in enumerate(published):
        slot = bisect.bisect_left(scans, at)
        if slot < len(scans):
            slots[slot].append(index)
    return slots


def busy_scans(published: Sequence[datetime], scans: Sequence[datetime], window: timedelta) -> list[bool]:
    """Tell, per scan, whether any post was published in the day (or `window`, if longer) before it: the
    others would triage nothing and may be skipped without changing the result."""
    reach = max(DAY, window)
    ordered = sorted(published)
    busy = []
    for at in scans:
        latest = bisect.bisect_right(ordered, at)
        busy.append(latest > 0 and ordered[latest - 1] > at - reach)
    return busy


@dataclass(frozen=True)
class Opened:
    """An incident a replay opened, as its row in the database ended the replay."""

    key: str
    brand: str
    category: str
    level: str
    detected_at: datetime
    possible_rumour: bool
    trigger_reason: str = ""  # the rules that opened it, in their own words


@dataclass(frozen=True)
class ReplayRow:
    """One file's outcome: the first incident the replay opened (if any) and how long after the first post."""

    file: str
    first_post_at: datetime
    incidents: tuple[Opened, ...]
    listed_at: datetime | None = None  # the first scan that listed a post on the 待核实 board (spreading_watch)

    @property
    def first(self) -> Opened | None:
        return min(self.incidents, key=lambda i: i.detected_at) if self.incidents else None

    @property
    def minutes(self) -> float | None:
        first = self.first
        return None if first is None else (first.detected_at - self.first_post_at) / timedelta(minutes=1)

    def values(self) -> dict[str, str]:
        """Return the CSV cells in COLUMNS order (times ISO 8601 in their own zone; empty when nothing opened)."""
        first, minutes = self.first, self.minutes
        return {
            "file": self.file, "first_post_at": self.first_post_at.isoformat(),
            "opened_at": first.detected_at.isoformat() if first else "",
            "minutes": "" if minutes is None else f"{minutes:g}",
            "incident_key": first.key if first else "", "category": first.category if first else "",
            "level": first.level if first else "", "incidents": str(len(self.incidents)),
            "possible_rumour": ("true" if first.possible_rumour else "false") if first else "",
            "listed_at": self.listed_at.isoformat() if self.listed_at else "",
        }
