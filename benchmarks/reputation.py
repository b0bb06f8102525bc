"""Daily reputation indicators of 30 days × 10 brands over 3,000,000 stored mentions on SQLite, through the code
the `reputation` flow runs (read, compute, store), against a plain pandas groupby over the same rows, same run.

The mentions are drawn from a pool of generated posts (tasks.scenario, analysed once by our analysis, so
sentiment, negative and category are real): about 220,000 distinct texts, so each text is stored about 14
times, as reposts would be. Rising terms tokenise each distinct negative text once; their cost follows the
number of distinct negative texts, not the number of mentions.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.comparisons import comparison
from benchmarks.metrics import ratio

MENTIONS = 3_000_000
DAYS = 30
FIRST = date(2026, 10, 1)
POOL_SEEDS = 100  # generated weeks whose posts make the text pool
ROUNDS = 3
GOAL_SECONDS = 60.0
GOAL_RATIO = 0.5
SEED = 20261203
# Six rivals beside our three brands and 焰峰: ten brands over three product categories.
RIVALS = {"晨厨": "厨房电器", "锅小匠": "厨房电器", "谷语": "食品饮料", "田牧": "食品饮料", "棉朵": "家纺", "暖屋": "家纺"}
DRILL_SHARE = 0.01  # drill mentions stored beside the real ones: read past, never counted
ALSO_SHARE = 0.02  # mentions naming a second brand (mention_brands)


@contextmanager
def _ten_brands(tmp: Path) -> Iterator[None]:
    """Point the app at a copy of config/ whose lexicon has six more competitors (ten brands in all)."""
    from config.files import clear_caches
    from config.settings import get_settings

    folder = tmp / "config"
    shutil.copytree(get_settings().config_dir, folder)
    with (folder / "lexicon.toml").open("a", encoding="utf-8") as lexicon:
        for name, category in RIVALS.items():
            lexicon.write(f'\n[competitors."{name}"]\naliases = ["{name}"]\nproducts = []\ncategory = "{category}"\n')
    os.environ["CRISIS_CONFIG_DIR"] = str(folder)
    clear_caches()
    try:
        yield
    finally:
        os.environ.pop("CRISIS_CONFIG_DIR", None)
        clear_caches()


def _pool() -> pd.DataFrame:
    """Return the generated posts, analysed: text, sentiment, negative, category."""
    from config.settings import get_settings
    from tasks.monitoring.analysis import analyse_many
    from tasks.monitoring.lexicon import lexicon_data
    from tasks.monitoring.sentiment_model import get_model
    from tasks.scenario.week import generate_scenario

    end = datetime.combine(FIRST + timedelta(days=DAYS), datetime.min.time(), tzinfo=UTC)
    texts = [str(m["text"]) for seed in range(1, POOL_SEEDS + 1) for m in generate_scenario(seed, end, days=7).mentions]
    analysed = analyse_many(texts, lexicon_data(), get_settings().analysis.negative_below, get_model())
    return pd.DataFrame({"text": texts, "sentiment": [a.positive for a in analysed],
                         "negative": [int(a.negative) for a in analysed], "category": [a.category for a in analysed]})


def _store(database: Path, brands: list[str]) -> dict[str, int]:
    """Write MENTIONS mentions over DAYS days straight into the SQLite file (untimed), and the extra brands."""
    rng = np.random.default_rng(SEED)
    pool = _pool()
    picks = rng.integers(0, len(pool), MENTIONS)
    start = np.datetime64(f"{FIRST - timedelta(days=1)}T16:00:00")  # 00:00 on FIRST in Beijing
    # stored in the order they were published, as scans store them
    times = start + np.sort(rng.integers(0, DAYS * 86_400_000_000, MENTIONS)).astype("timedelta64[us]")
    stamps = np.char.replace(np.datetime_as_string(times, unit="us").astype(str), "T", " ")
    weights = rng.dirichlet(np.ones(len(brands)) * 3)
    named = np.array(brands)[rng.choice(len(brands), MENTIONS, p=weights)]
    drill = rng.random(MENTIONS) < DRILL_SHARE
    texts, sentiment = pool["text"].tolist(), pool["sentiment"].tolist()
    negative, category = pool["negative"].tolist(), pool["category"].tolist()
    stamps, named, drill = stamps.tolist(), named.tolist(), drill.tolist()
    rows = ((f"bench{i % 7}", f"m{i}", stamps[i], stamps[i], texts[p], f"h{p}", "0" * 16, sentiment[p], negative[p],
             category[p], named[i], int(drill[i])) for i, p in enumerate(picks.tolist()))
    also = rng.choice(MENTIONS, int(MENTIONS * ALSO_SHARE), replace=False) + 1
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA synchronous = OFF")
        conn.executemany(
            "INSERT INTO mentions (source, external_id, published_at, fetched_at, text, content_hash, simhash, "
            "sentiment, negative, category, brand, is_drill, reach, critical_terms, debunk) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', 0)", rows)
        conn.executemany("INSERT INTO mention_brands (mention_id, brand) SELECT ?, ? WHERE ? NOT IN "
                         "(SELECT brand FROM mentions WHERE id = ?)",
                         ((int(m), brands[int(m) % len(brands)], brands[int(m) % len(brands)], int(m)) for m in also))
    return {"mentions": MENTIONS, "distinct_texts": int(pool.text.nunique()),
            "negative_share": round(float(pool.negative.iloc[picks].mean()), 3), "extra_brand_rows": len(also)}


def _plain_groupby(database: Path) -> int:
    """The baseline: read the same rows with pandas and group them by local day and brand (counts only)."""
    first = f"{FIRST - timedelta(days=1)} 16:00:00"
    last = f"{FIRST + timedelta(days=DAYS - 1)} 16:00:00"
    with sqlite3.connect(database) as conn:
        frame = pd.read_sql("SELECT brand, published_at, negative, sentiment, category FROM mentions "
                            "WHERE is_drill = 0 AND published_at >= ? AND published_at < ?", conn, params=(first, last))
    local = pd.to_datetime(frame["published_at"]).dt.tz_localize("UTC").dt.tz_convert("Asia/Shanghai")
    frame["day"] = local.dt.floor("D")
    frame["positive"] = (frame["negative"] == 0) & (frame["sentiment"] >= 0.6)
    grouped = frame.groupby(["day", "brand"]).agg(volume=("negative", "size"), negative=("negative", "sum"),
                                                  positive=("positive", "sum"))
    frame[frame["negative"] == 1].groupby(["day", "brand", "category"]).size()
    return len(grouped)


def _ours() -> int:
    """The flow's work: compute_reputation over the 30 days (read, compute, store)."""
    from prefect.logging import disable_run_logger

    from tasks.reputation.tasks import compute_reputation

    with disable_run_logger():
        return int(compute_reputation.fn(FIRST, FIRST + timedelta(days=DAYS - 1), datetime.now(UTC))["rows"])


def bench_reputation() -> dict[str, object]:
    """Time compute_reputation and the plain groupby alternately, ROUNDS rounds each after one untimed run."""
    from benchmarks.data import app_database
    from tasks.reputation.tasks import watched_brands

    with tempfile.TemporaryDirectory(prefix="crisis-reputation-") as tmp, app_database(Path(tmp)), \
            _ten_brands(Path(tmp)):
        brands = sorted(watched_brands())
        setup = time.perf_counter()
        data = _store(Path(tmp) / "crisis.db", brands)
        setup = time.perf_counter() - setup
        jobs = {"ours": _ours, "groupby": lambda: _plain_groupby(Path(tmp) / "crisis.db")}
        rows = _ours()  # untimed, both: the first run after the load reads the file into the page cache and
        jobs["groupby"]()  # loads jieba's dictionary
        seconds: dict[str, list[float]] = {"ours": [], "groupby": []}
        for _ in range(ROUNDS):
            for name, run in jobs.items():
                start = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - start)
    paired = [ratio(1 / o, 1 / g) for o, g in zip(seconds["ours"], seconds["groupby"], strict=True)]
    best = min(seconds["ours"])
    figure = f"reputation, {DAYS} days × {len(brands)} brands (compute + store)"
    speed = comparison(figure, MENTIONS / min(seconds["ours"]), "mentions/s", "plain pandas groupby (read + group)",
                       MENTIONS / min(seconds["groupby"]), GOAL_RATIO, paired)
    goal = comparison(f"{figure} (goal ≤ {GOAL_SECONDS:g} s)", best * 1000, "ms", "plain pandas groupby",
                      min(seconds["groupby"]) * 1000)
    return {**data, "brands": len(brands), "days": DAYS, "rows_stored": rows, "setup_seconds": round(setup, 1),
            "seconds": {k: [round(v, 2) for v in vs] for k, vs in seconds.items()},
            "comparisons": [speed, {**goal, "goal_text": f"≤ {GOAL_SECONDS:g} s", "meets_goal": best <= GOAL_SECONDS}]}
