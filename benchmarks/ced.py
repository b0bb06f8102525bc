"""Replay of real Weibo repost timelines (CED, ../shared/data/events) through the spike rules (`make eval`).

For each selected event (the consumer-topic events whose reposts are in the sample, and the three
rumours and three non-rumours with the most sampled reposts as a contrast) the original post and its
reposts become canonical mentions (an empty repost is "转发微博" + the original text, as Weibo shows it),
are written as JSONL, read back through the file source and analysed with the real lexicon and
sentiment model. The event is one group (a pseudo-brand, its posts' most common category): at every
scan of a 30-minute grid from the first post, a GroupWindow is built the way triage's repository
builds it (window, short baseline, same hours of earlier days, share, critical terms, reach) and the
pure rules (tasks.triage.detection.evaluate, thresholds from config/detection.toml) are run. Reported:
the first scan at which a rule fired, which rule, and its lead or lag on the first post and the peak
hour. Reach is known only for the original post (its author's followers); reposts count 0.
It measures and reports; it asserts nothing.
"""

from __future__ import annotations

import bisect
import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from benchmarks.data import DATA_DIR
from tasks.triage.detection import GroupWindow, Thresholds, evaluate

CED_FILES = ("events/CED_events.csv", "events/CED_reposts_sample.csv")
BEIJING = "+08:00"
SCAN_MINUTES = 30
CONTRAST_EVENTS = 3  # rumours and non-rumours without consumer keywords, the most reposted in the sample
DAY = 86400


@dataclass(frozen=True)
class Post:
    at: float  # Unix seconds
    negative: bool
    reach: int
    critical: tuple[str, ...]
    category: str | None


@dataclass(frozen=True)
class Timeline:
    event_id: int
    label: int
    consumer: bool
    text: str
    posts: tuple[Post, ...]  # sorted by time, the original first

    @property
    def category(self) -> str:
        counts = Counter(p.category for p in self.posts if p.category)
        return counts.most_common(1)[0][0] if counts else "其他"


def select_events(events: pd.DataFrame, sample: pd.DataFrame) -> list[int]:
    """Return the consumer events with sampled reposts, then the contrast events (fixed order)."""
    sampled = sample.groupby("event_id").size()
    known = events[events["event_id"].isin(sampled.index)].assign(n=lambda f: f["event_id"].map(sampled))
    chosen = known[known["consumer_keyword"] == 1]["event_id"].tolist()
    others = known[known["consumer_keyword"] != 1].sort_values(["n", "event_id"], ascending=[False, True])
    for label in (1, 0):
        chosen += others[others["label"] == label]["event_id"].head(CONTRAST_EVENTS).tolist()
    return chosen


def canonical_rows(event: pd.Series, reposts: pd.DataFrame) -> list[dict[str, object]]:
    """Return the event's original post and reposts as canonical mention rows (Beijing time)."""
    original = str(event["text"])
    followers = event["user_followers"]
    rows: list[dict[str, object]] = [{
        "id": f"ced{event['event_id']}-0", "text": original, "author": "原博",
        "reach": int(followers) if pd.notna(followers) else 0,
        "published_at": f"{str(event['timestamp']).replace(' ', 'T')}{BEIJING}", "platform": "微博",
    }]
    for n, (stamp, text) in enumerate(zip(reposts["timestamp"], reposts["text"], strict=True), start=1):
        comment = str(text).strip() if isinstance(text, str) else ""
        rows.append({
            "id": f"ced{event['event_id']}-{n}", "text": comment or f"转发微博 {original}", "reach": 0,
            "published_at": f"{str(stamp).replace(' ', 'T')}{BEIJING}", "platform": "微博",
        })
    return rows


def load_timelines(ids: Sequence[int], events: pd.DataFrame, sample: pd.DataFrame, folder: Path) -> list[Timeline]:
    """Write each event as JSONL, read it back through the file source and analyse it."""
    from config.settings import get_settings
    from tasks.common import local_zone
    from tasks.monitoring.analysis import analyse_many
    from tasks.monitoring.lexicon import lexicon_data
    from tasks.monitoring.sentiment_model import get_model
    from tasks.monitoring.sources import read_canonical_file

    lexicon, negative_below, model = lexicon_data(), get_settings().analysis.negative_below, get_model()
    timelines = []
    for event_id in ids:
        event = events[events["event_id"] == event_id].iloc[0]
        path = folder / f"ced-{event_id}.jsonl"
        rows = canonical_rows(event, sample[sample["event_id"] == event_id])
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        report = read_canonical_file(path, "ced", datetime.max.replace(tzinfo=UTC), local_zone())
        mentions = sorted(report.mentions, key=lambda m: m.published_at)
        texts = sorted({m.text for m in mentions})  # plain reposts repeat the original: analyse each text once
        by_text = dict(zip(texts, analyse_many(texts, lexicon, negative_below, model), strict=True))
        posts = tuple(Post(m.published_at.timestamp(), by_text[m.text].negative, m.reach,
                           tuple(by_text[m.text].critical_terms), by_text[m.text].category) for m in mentions)
        timelines.append(Timeline(int(event_id), int(event["label"]), bool(event["consumer_keyword"] == 1),
                                  str(event["text"]), posts))
    return timelines


def group_at(line: Timeline, end: float, t: Thresholds, long_days: int) -> GroupWindow:
    """Return the event's GroupWindow at `end`, as triage's repository.group_windows builds one."""
    at = np.array([p.at for p in line.posts])
    negative = np.array([p.negative for p in line.posts])
    age = end - at
    seen = (age >= 0) & (age < DAY * (long_days + 1))
    window = t.window_minutes * 60
    in_window, in_short = seen & (age < window), seen & (age >= window) & (age < window + t.short_baseline_hours * 3600)
    in_day, in_days = seen & (age < DAY), seen & (age >= DAY)
    g = GroupWindow(brand=f"CED-{line.event_id}", category=line.category, brand_volume=int(in_window.sum()),
                    brand_negative=int((in_window & negative).sum()), baseline_share=_share(in_short, negative),
                    day_share=_share(in_day, negative), day_baseline_share=_share(in_days, negative))
    bins = ((age[in_short & negative] - window) // window).astype(int)
    slots = t.short_baseline_hours * 3600 // window
    g.baseline_counts = np.bincount(bins, minlength=slots)[:slots].tolist()
    g.day_negative = int((in_day & negative).sum())
    days = (age[in_days] // DAY).astype(int) - 1
    counts = np.bincount(days[negative[in_days]], minlength=long_days)[:long_days]
    observed = sorted(set(days.tolist()))
    g.day_baseline = [int(counts[d]) for d in observed if d < long_days] if len(observed) >= 3 else []
    for index in np.flatnonzero(in_window & negative):
        post = line.posts[index]
        g.negative += 1
        g.negative_reach += post.reach * (2 if post.reach >= t.influencer_reach else 1)
        g.top_reach = max(g.top_reach, post.reach)
        g.critical.update(post.critical)
        g.critical_mentions += bool(post.critical)
    return g


def _share(mask: np.ndarray, negative: np.ndarray) -> float:
    total = int(mask.sum())
    return float((mask & negative).sum()) / total if total else 0.0


def peak_hour(line: Timeline) -> float:
    """Return the start (Unix seconds) of the clock hour with the most posts (the earliest of ties)."""
    hours = Counter(int(p.at // 3600) for p in line.posts)
    busiest = max(hours.values())
    return min(h for h, n in hours.items() if n == busiest) * 3600.0


def first_alarm(line: Timeline, t: Thresholds, long_days: int) -> tuple[float, list[str]] | None:
    """Return (scan time, rules) of the first scan on the 30-minute grid at which a rule fires, if any."""
    step = SCAN_MINUTES * 60
    quiet = max(DAY, t.window_minutes * 60)  # every rule needs a negative post this recent
    times = [p.at for p in line.posts]
    scan = (times[0] // step + 1) * step
    while scan <= times[-1] + t.window_minutes * 60:
        following = bisect.bisect_right(times, scan)
        if following == 0 or times[following - 1] <= scan - quiet:  # nothing recent: skip to the next post
            scan = (times[following] // step + 1) * step
            continue
        hits = evaluate(group_at(line, scan, t, long_days), t)
        if hits:
            return scan, [h.rule for h in hits]
        scan += step
    return None


def _when(seconds: float) -> str:
    return (datetime.fromtimestamp(seconds, UTC) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")


def replay_event(line: Timeline, t: Thresholds, long_days: int) -> dict[str, object]:
    """Return one event's row: first post, peak hour, the first alarm and its lead on the peak."""
    first, peak = line.posts[0].at, peak_hour(line)
    alarm = first_alarm(line, t, long_days)
    negatives = sum(p.negative for p in line.posts)
    row: dict[str, object] = {
        "event_id": line.event_id, "label": "rumour" if line.label else "non-rumour", "consumer": line.consumer,
        "text": line.text[:40], "posts": len(line.posts), "negative_share": round(negatives / len(line.posts), 3),
        "category": line.category, "first_post": _when(first), "peak_hour": _when(peak),
        "peak_posts": max(Counter(int(p.at // 3600) for p in line.posts).values()),
        "alarm": None, "rules": [], "hours_after_first_post": None, "hours_before_peak": None,
    }
    if alarm is not None:
        at, rules = alarm
        row.update(alarm=_when(at), rules=rules, hours_after_first_post=round((at - first) / 3600, 2),
                   hours_before_peak=round((peak - at) / 3600, 2))
    return row


def summarise(rows: list[dict[str, object]]) -> dict[str, object]:
    """Return the share detected and the median lead on the peak, for consumer events and for all."""
    def part(chosen: list[dict[str, object]]) -> dict[str, object]:
        hit = [r for r in chosen if r["alarm"] is not None]
        leads = [float(r["hours_before_peak"]) for r in hit]  # type: ignore[arg-type]
        lags = [float(r["hours_after_first_post"]) for r in hit]  # type: ignore[arg-type]
        return {
            "events": len(chosen), "detected": len(hit),
            "share_detected": round(len(hit) / len(chosen), 3) if chosen else None,
            "median_hours_after_first_post": _median(lags),
            "median_hours_before_peak": _median(leads),
            "detected_before_peak_hour_ends": sum(lead > -1 for lead in leads),
            "first_rules": dict(Counter(r["rules"][0] for r in hit)),  # type: ignore[index]
            "median_negative_share": {
                "detected": _median([float(r["negative_share"]) for r in hit]),  # type: ignore[arg-type]
                "missed": _median([float(r["negative_share"]) for r in chosen if r["alarm"] is None]),  # type: ignore[arg-type]
            },
        }

    return {"consumer": part([r for r in rows if r["consumer"]]), "all": part(rows)}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def evaluate_ced() -> dict[str, object]:
    """Replay the selected CED events and return per-event rows and the summary."""
    from config.detection import load_detection
    from tasks.triage.tasks import thresholds

    started = time.perf_counter()
    events, sample = (pd.read_csv(DATA_DIR / name, encoding="utf-8") for name in CED_FILES)
    det = load_detection()
    t = thresholds(det)
    with tempfile.TemporaryDirectory(prefix="crisis-ced-") as tmp:
        timelines = load_timelines(select_events(events, sample), events, sample, Path(tmp))
    rows = [replay_event(line, t, det.long_baseline_days) for line in timelines]
    return {"scan_minutes": SCAN_MINUTES, "events": rows, "summary": summarise(rows),
            "seconds": round(time.perf_counter() - started, 1)}


def _hours(value: object) -> str:
    return "–" if value is None else f"{float(value):+.1f}"  # type: ignore[arg-type]


def _versus_peak(value: object) -> str:
    if value is None:
        return "–"
    hours = float(value)  # type: ignore[arg-type]
    return f"{abs(hours):.1f} h {'before' if hours >= 0 else 'after'} the peak hour began"


def render(result: dict[str, object], console: Console) -> None:
    """Print one row per event and the summary."""
    table = Table(title=f"CED replay: real Weibo repost timelines, a scan every {SCAN_MINUTES} min, one group per "
                  "event (Beijing time; 'vs peak' = peak hour start − alarm, + = before)", title_justify="left")
    for name in ("event", "kind", "posts", "neg", "first post", "peak hour (posts)", "alarm", "rules",
                 "h after first", "h vs peak", "text"):
        table.add_column(name, no_wrap=name != "rules", max_width=14 if name == "text" else None)
    for row in result["events"]:  # type: ignore[attr-defined]
        kind = ("consumer " if row["consumer"] else "") + row["label"]
        table.add_row(
            str(row["event_id"]), kind, str(row["posts"]), f"{row['negative_share']:.2f}", row["first_post"],
            f"{row['peak_hour'][5:]} ({row['peak_posts']})", (row["alarm"] or "–")[5:] or "–",
            ", ".join(row["rules"]) or "–", _hours(row["hours_after_first_post"]), _hours(row["hours_before_peak"]),
            row["text"][:14],
        )
    console.print(table)
    for name, part in result["summary"].items():  # type: ignore[attr-defined]
        shares = part["median_negative_share"]
        console.print(
            f"{name} events: {part['detected']}/{part['events']} raised an alarm, median "
            f"{_hours(part['median_hours_after_first_post'])} h after the first post and "
            f"{_versus_peak(part['median_hours_before_peak'])}; {part['detected_before_peak_hour_ends']} before "
            f"their peak hour ended; first rule {part['first_rules']}; median negative share "
            f"{shares['detected']} (alarmed) vs {shares['missed']} (silent)"
        )
