"""A watched brand's ordinary stream of real posts: does any rule fire once the brand has a baseline?

../shared/data's online_shopping_10_cats holds 2,033 real Weibo posts in its category 蒙牛 (2,028 name it; most from
the 2011-12 dairy scandals: 56 % negative, 3.6 % make a health claim, 0.4 % hold a critical term). Shuffled
(fixed seed) and spread evenly at RATES posts an hour, they are replayed through `crisis replay`'s runner
(tasks/replay/runner.py scan_all: analyse, store, triage every 5 minutes) with 蒙牛 watched as a lexicon entry
would. The first hours open an incident (a brand first watched mid-storm: nothing before to compare with);
after SETTLE_HOURS the stream is the brand's usual rate, with no story rising in it, so every rule that fires
then is a false alarm (an incident already open absorbs it, but a fresh one would open). Counted per rule:
the scans at which it fired after SETTLE_HOURS. It measures and reports; it asserts nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from benchmarks.data import load_sentiment_set

RATES = (50, 100)  # posts an hour: 40.6 and 20.3 hours of stream
SETTLE_HOURS = 12  # the short baseline's length (detection.toml short_baseline_hours)
SEED = 7
START = datetime(2026, 11, 1, tzinfo=UTC)


def evaluate_stream() -> dict[str, object]:
    """Return what the posts say (how many name the brand, read negative, make a claim, hold a critical term) and,
    per rate, the replay: the incidents opened and the rules' firings before and after SETTLE_HOURS."""
    return {"posts": _reading(), "rates": {str(rate): _replay(rate) for rate in RATES}}


def _texts() -> list[str]:
    frame = load_sentiment_set("online_shopping_10_cats")
    return [str(t) for t in frame[frame["category"] == "蒙牛"]["text"]]


def _reading() -> dict[str, int]:
    """Return how the analysis reads the posts with 蒙牛 watched, as the replay's scans store them."""
    from config.settings import get_settings
    from tasks.monitoring.analysis import analyse_many
    from tasks.monitoring.lexicon import lexicon_data, watching
    from tasks.monitoring.sentiment_model import get_model

    texts = _texts()
    with watching({"蒙牛": ("蒙牛",)}):
        results = analyse_many(texts, lexicon_data(), get_settings().analysis.negative_below, get_model())
    named = [a for a in results if a.brand == "蒙牛"]
    return {"posts": len(texts), "naming_the_brand": len(named), "negative": sum(a.negative for a in named),
            "with_a_claim": sum(bool(a.health_claims) for a in named),
            "with_a_critical_term": sum(bool(a.critical_terms) for a in named)}


def _replay(rate: int) -> dict[str, object]:
    from sqlalchemy import select

    from tasks.db import session_scope
    from tasks.models import DetectionHit
    from tasks.monitoring.lexicon import watching
    from tasks.monitoring.sentiment_model import get_model
    from tasks.monitoring.sources import RawMention
    from tasks.replay.repository import opened_incidents
    from tasks.replay.runner import scan_all, throwaway_database

    texts = _texts()
    rng = random.Random(SEED)
    rng.shuffle(texts)
    posts = [RawMention("weibo", str(i), text, START + timedelta(hours=(i + rng.random()) / rate), author=f"用户{i}",
                        reach=500, platform="微博") for i, text in enumerate(texts)]
    end = posts[-1].published_at
    scans = [START + timedelta(minutes=5 * k) for k in range(1, int((end - START).total_seconds() // 300) + 2)]
    settled = START + timedelta(hours=SETTLE_HOURS)
    get_model()
    with watching({"蒙牛": ("蒙牛",)}), throwaway_database():
        scan_all(posts, scans, skip_idle=False)
        with session_scope() as session:
            hits = session.execute(select(DetectionHit.rule, DetectionHit.window_end)).tuples().all()
            opened = opened_incidents(session)
    after = Counter(rule for rule, at in hits if at.astimezone(UTC) >= settled)
    return {"posts": len(posts), "hours": round((end - START).total_seconds() / 3600, 1),
            "scans_after_settle": sum(at >= settled for at in scans),
            "opened": [{"hour": round((o.detected_at.astimezone(UTC) - START).total_seconds() / 3600, 2),
                        "category": o.category, "reason": o.trigger_reason} for o in opened],
            "fired_before_settle": dict(Counter(rule for rule, at in hits if at.astimezone(UTC) < settled)),
            "fired_after_settle": dict(after)}


def render(result: dict[str, dict[str, object]], console: Console) -> None:
    p = result["posts"]
    table = Table(title=f"A brand's ordinary stream: {p['posts']:,} real posts about 蒙牛 ({p['naming_the_brand']:,} "
                        f"name it: {p['negative']:,} negative, {p['with_a_claim']} make a claim, "
                        f"{p['with_a_critical_term']} hold a critical term); rule firings after the first "
                        f"{SETTLE_HOURS} h are false alarms", title_justify="left")
    for column in ("posts/h", "hours", "incidents opened (hour: category)", f"scans after {SETTLE_HOURS} h",
                   "rules firing after", "rules firing before"):
        table.add_column(column)
    for rate, r in result["rates"].items():
        opened = "、".join(f"{o['hour']:g} h: {o['category']}" for o in r["opened"]) or "none"  # type: ignore[attr-defined]
        table.add_row(rate, str(r["hours"]), opened, str(r["scans_after_settle"]),
                      _listed(r["fired_after_settle"]), _listed(r["fired_before_settle"]))  # type: ignore[arg-type]
    console.print(table)


def _listed(fired: dict[str, int]) -> str:
    return "、".join(f"{rule} ×{n}" for rule, n in sorted(fired.items())) or "none"
