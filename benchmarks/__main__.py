"""`make bench`: throughput as ratios against baselines measured in the same run.

Each benchmark is one function returning a dict; register it in BENCHMARKS. A dict may carry
"comparisons" (figure, value, baseline, ratio, goal) which the table shows. `--only NAME` runs one.
The machine is small and noisy: figures are reported, never asserted. Results: <var>/bench/latest.json.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.backfill import bench_backfill
from benchmarks.comparisons import comparison
from benchmarks.compensation import ORDERS as COMPENSATION_ORDERS
from benchmarks.compensation import bench_compensation
from benchmarks.data import (
    SNOWNLP_OVERLAP_CATEGORIES,
    load_sentiment_set,
    now_iso,
    require_data,
    stratified_sample,
    write_latest,
)
from benchmarks.dismissed import DISMISSED_REPOSTS, bench_dismissed
from benchmarks.metrics import ratio
from benchmarks.reputation import DAYS as REPUTATION_DAYS
from benchmarks.reputation import MENTIONS as REPUTATION_MENTIONS
from benchmarks.reputation import bench_reputation

SEED = 20251120
REVIEW_SETS = ("online_shopping_10_cats", "waimai_10k")
REVIEW_TEXTS = 20_000
SNOWNLP_TEXTS = 300
REPEATS = 5
SCAN_MENTIONS = 100_000
SCAN_END = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Benchmark:
    name: str
    run: Callable[[], dict[str, object]]
    description: str


def _summary(count: int, seconds: Sequence[float]) -> dict[str, object]:
    return {
        "items": count,
        "best_per_s": round(count / min(seconds), 1),
        "median_per_s": round(count / statistics.median(seconds), 1),
        "per_round_per_s": [round(count / s, 1) for s in seconds],
        "seconds": [round(s, 3) for s in seconds],
    }


Job = tuple[Callable[[], object], int]  # (run once, items it handles)


def _interleaved(jobs: dict[str, Job], rounds: int) -> dict[str, dict[str, object]]:
    """Time every job once per round, round after round, so drift on a noisy machine hits all alike.

    Return per job: best and median items/s, the rate of each round and the seconds.
    """
    seconds: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, (run, _count) in jobs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: _summary(count, seconds[name]) for name, (_run, count) in jobs.items()}


def _paired(values: dict[str, object], baseline: dict[str, object]) -> list[float]:
    return [ratio(v, b) for v, b in zip(values["per_round_per_s"], baseline["per_round_per_s"], strict=True)]


@lru_cache(maxsize=1)
def review_texts() -> tuple[str, ...]:
    """The same REVIEW_TEXTS real reviews every run: half online_shopping (7 categories), half waimai,
    shuffled with a fixed seed so that the first SNOWNLP_TEXTS are a fair sample of the whole."""
    per_set = REVIEW_TEXTS // len(REVIEW_SETS)
    texts: list[str] = []
    for name in REVIEW_SETS:
        exclude = SNOWNLP_OVERLAP_CATEGORIES if name == "online_shopping_10_cats" else ()
        texts.extend(stratified_sample(load_sentiment_set(name, exclude), per_set, SEED)["text"])
    random.Random(SEED).shuffle(texts)
    return tuple(texts)


@lru_cache(maxsize=1)
def _analysis_setup():  # type: ignore[no-untyped-def]
    """Return (lexicon, negative_below, model) and warm up jieba and the model outside any timing."""
    from config.settings import get_settings
    from tasks.monitoring.analysis import analyse_many
    from tasks.monitoring.lexicon import lexicon_data
    from tasks.monitoring.sentiment_model import get_model

    lexicon = lexicon_data()
    negative_below = get_settings().analysis.negative_below
    model = get_model()
    analyse_many(review_texts()[:50], lexicon, negative_below, model)
    return lexicon, negative_below, model


def _jieba_job(texts: Sequence[str]) -> Job:
    """jieba.lcut with the lexicon's words in its dictionary, as our analysis cuts with them."""
    from tasks.monitoring.analysis import jieba_module, load_user_dictionary
    from tasks.monitoring.lexicon import lexicon_data

    load_user_dictionary(lexicon_data().dictionary_words())
    jieba = jieba_module()
    return (lambda: [jieba.lcut(t) for t in texts]), len(texts)


# Baselines measured earlier in this run, for later benchmarks (e.g. scan reuses jieba.lcut's rate).
_baselines: dict[str, dict[str, object]] = {}


def jieba_rate() -> dict[str, object]:
    """Baseline: jieba.lcut alone over the review texts (same dictionary as our analysis)."""
    if "jieba" not in _baselines:
        _analysis_setup()
        _baselines["jieba"] = _interleaved({"jieba": _jieba_job(review_texts())}, REPEATS)["jieba"]
    return _baselines["jieba"]


def bench_analysis() -> dict[str, object]:
    """Our analyse_many vs jieba.lcut alone and SnowNLP(text).sentiments on the same real reviews.

    Timed with the default tokenizer (jieba-rs when installed) and with the reference, jieba.
    """
    from snownlp import SnowNLP

    from tasks.monitoring.analysis import DEFAULT_TOKENIZER, analyse_many

    lexicon, negative_below, model = _analysis_setup()
    texts = review_texts()
    few = list(texts[:SNOWNLP_TEXTS])
    _ = SnowNLP("好评").sentiments  # load snownlp's models outside the timing
    rates = _interleaved(
        {
            "ours": ((lambda: analyse_many(texts, lexicon, negative_below, model)), len(texts)),
            "ours_jieba": ((lambda: analyse_many(texts, lexicon, negative_below, model, tokenizer="jieba")),
                           len(texts)),
            "jieba": _jieba_job(texts),
            "snownlp": ((lambda: [SnowNLP(t).sentiments for t in few if t]), len(few)),
        },
        REPEATS,
    )
    ours, ours_jieba, jieba, snow = rates["ours"], rates["ours_jieba"], rates["jieba"], rates["snownlp"]
    _baselines["jieba"] = jieba
    figure = f"analyse_many ({DEFAULT_TOKENIZER})"
    return {
        "texts": len(texts),
        "snownlp_texts": len(few),
        "rounds": REPEATS,
        "tokenizer": DEFAULT_TOKENIZER,
        "ours_texts_per_s": ours,
        "ours_jieba_tokenizer_texts_per_s": ours_jieba,
        "jieba_lcut_texts_per_s": jieba,
        "snownlp_texts_per_s": snow,
        "comparisons": [
            comparison(figure, ours["median_per_s"], "texts/s",
                       "jieba.lcut", jieba["median_per_s"], 8, _paired(ours, jieba)),
            comparison(figure, ours["median_per_s"], "texts/s",
                       "SnowNLP.sentiments", snow["median_per_s"], 20, _paired(ours, snow)),
            comparison("analyse_many (jieba)", ours_jieba["median_per_s"], "texts/s",
                       "jieba.lcut", jieba["median_per_s"], None, _paired(ours_jieba, jieba)),
        ],
    }


BURST_MINUTES = 30  # one scan interval
HISTORY_SEED = 1000  # the week before the burst: gives detection its baselines


def _scan_rows() -> list[dict[str, object]]:
    """Return SCAN_MENTIONS generated mentions (seeds 1, 2, … until enough), a week up to SCAN_END."""
    from tasks.scenario.week import generate_scenario

    rows: list[dict[str, object]] = []
    seed = 0
    while len(rows) < SCAN_MENTIONS:
        seed += 1
        rows.extend(generate_scenario(seed, SCAN_END, days=7).mentions)
    return rows[:SCAN_MENTIONS]


def _as_burst(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Return the rows with their times squeezed, in order, into the last BURST_MINUTES before SCAN_END."""
    times = [datetime.fromisoformat(str(r["published_at"])) for r in rows]
    first, last = min(times), max(times)
    span = (last - first) or timedelta(seconds=1)
    window = timedelta(minutes=BURST_MINUTES) - timedelta(seconds=1)
    start = SCAN_END - window
    return [{**r, "published_at": (start + (t - first) / span * window).astimezone(t.tzinfo).isoformat(timespec="seconds")}
            for r, t in zip(rows, times, strict=True)]


REAL_SETS = ("online_shopping_10_cats", "waimai_10k", "ChnSentiCorp_htl_all", "NLPCC2014_SC_zh_train",
             "SenticNet_Chinese_reviews", "FewCLUE_EPRSTMT_train_dev")  # 99,372 real texts in all


def _with_real_texts(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Return the rows with their generated texts replaced by the real reviews of ../shared/data, in file order
    (cycled past the last): the generator's templated texts repeat words and SimHash bands far more than
    people's posts do. Few name a watched brand, so linking and detection have little to do."""
    texts = [t for name in REAL_SETS for t in load_sentiment_set(name)["text"] if t.strip()]
    return [{**r, "text": texts[i % len(texts)]} for i, r in enumerate(rows)]


def _timed_scan(folder: Path, var: Path) -> dict[str, object]:
    """Time one scan's work on the drop folder's files, without Prefect: read, analyse, store (dedup by
    source + id, repost / near-duplicate linking), detect (open / update incidents)."""
    from prefect.logging import disable_run_logger

    from config.files import FileSource
    from tasks.common import local_zone
    from tasks.monitoring.sources_files import read_drop_folder
    from tasks.monitoring.tasks import analyse_mentions, store_mentions
    from tasks.triage.tasks import update_incidents

    source = FileSource(name="bench", glob=str(folder / "*.jsonl"), settle_seconds=0)
    with disable_run_logger():
        start = time.perf_counter()
        report = read_drop_folder(source, var, SCAN_END, local_zone(), time.time(), lambda files: set())
        read_done = time.perf_counter()
        rows = analyse_mentions.fn(report.mentions, SCAN_END)
        analysed = time.perf_counter()
        inserted = store_mentions.fn(rows)
        stored = time.perf_counter()
        changes = update_incidents.fn(SCAN_END, "bench")
        detected = time.perf_counter()
    total = detected - start
    return {
        "mentions": len(report.mentions),
        "inserted": inserted,
        "problems": len(report.problems),
        "incidents": sorted(f"{c.incident_key} {c.kind} {c.level}" for c in changes),
        "seconds": {"read": round(read_done - start, 3), "analyse": round(analysed - read_done, 3),
                    "store": round(stored - analysed, 3), "detect": round(detected - stored, 3),
                    "total": round(total, 3)},
        "mentions_per_s": round(len(report.mentions) / total, 1),
    }


def _store_history(var: Path) -> None:
    """Store a week of ordinary traffic before the burst (untimed), so detection has baselines."""
    from prefect.logging import disable_run_logger

    from tasks.common import local_zone
    from tasks.monitoring.sources import read_canonical_file
    from tasks.monitoring.tasks import analyse_mentions, store_mentions
    from tasks.scenario.files import write_mentions
    from tasks.scenario.week import generate_scenario

    before = SCAN_END - timedelta(minutes=BURST_MINUTES)
    path = var / "history.jsonl"
    write_mentions(generate_scenario(HISTORY_SEED, before, days=7), path)
    with disable_run_logger():
        mentions = read_canonical_file(path, "history", before, local_zone()).mentions
        store_mentions.fn(analyse_mentions.fn(mentions, before))


def bench_scan() -> dict[str, object]:
    """One scan of SCAN_MENTIONS new mentions from a drop-folder file source, in three shapes: a week's
    traffic read at once (a new source's first scan), the same mentions arriving within one scan interval on
    top of a week of history (a crisis-sized burst: detection opens incidents), and the week with real review
    texts in place of the generated ones (what people write, not what our generator writes)."""
    from benchmarks.data import app_database
    from tasks.scenario.files import write_mention_rows

    baseline = jieba_rate()  # measured before the environment points at the temporary database
    rows = _scan_rows()
    shapes = {"week": rows, "burst": _as_burst(rows), "real": _with_real_texts(rows)}
    cases: dict[str, dict[str, object]] = {}
    for case, case_rows in shapes.items():
        with tempfile.TemporaryDirectory(prefix="crisis-bench-") as tmp, app_database(Path(tmp)):
            if case == "burst":
                _store_history(Path(tmp))
            write_mention_rows(case_rows, Path(tmp) / "drop" / "mentions.jsonl")
            cases[case] = _timed_scan(Path(tmp) / "drop", Path(tmp))
    same = {case: _interleaved({"jieba": _jieba_job([str(r["text"]) for r in shapes[case]])}, 1)["jieba"]
            for case in ("week", "real")}  # the burst has the week's texts
    comparisons = []
    for case, label, texts in (("week", "scan, a week at once", "week"),
                               ("burst", f"scan, a {BURST_MINUTES}-min burst", "week"),
                               ("real", "scan, a week of real review texts", "real")):
        rate = float(cases[case]["mentions_per_s"])  # type: ignore[arg-type]
        comparisons += [
            comparison(label, rate, "mentions/s", "jieba.lcut (reviews)", baseline["median_per_s"]),
            comparison(label, rate, "mentions/s", "jieba.lcut (same mentions)", same[texts]["median_per_s"]),
        ]
    return {**cases, "jieba_lcut_on_mention_texts_per_s": same["week"],
            "jieba_lcut_on_real_texts_per_s": same["real"], "comparisons": comparisons}


CLI_SCAN_MENTIONS = 1000
CLI_SCAN_ROUNDS = 3
CLI_NOW = "2026-11-27T10:00"  # Asia/Shanghai, as an operator types it
CLI_SCAN_GOALS = {"idle": 3.0, "batch": 5.0}  # seconds, end to end (issue 17)


@contextmanager
def _prefect_server(var: Path) -> Iterator[str]:
    """Run a Prefect server of its own (free loopback port, its database under `var`) while the block runs,
    as `crisis up` does; yield its API URL."""
    from config.files import clear_caches
    from config.settings import get_settings
    from tasks.stack import Stack, ensure_prefect_server, stop_stack

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ["CRISIS_STACK__PREFECT_PORT"] = str(port)
    clear_caches()
    stack = Stack(get_settings())
    try:
        ensure_prefect_server(stack)
        yield stack.api_url
    finally:
        stop_stack(stack)
        os.environ.pop("CRISIS_STACK__PREFECT_PORT", None)
        clear_caches()


def _cli_seconds(args: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    """Run `crisis` with `args` as an operator does and return its wall-clock seconds (it must succeed)."""
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "crisis"), *args], env=env, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def bench_cli_scan() -> dict[str, object]:
    """`crisis scan` end to end against a running Prefect server: an idle scan (nothing new) and a scan of
    CLI_SCAN_MENTIONS new mentions (`--file`), beside `crisis --help` (the CLI's start alone), round by round."""
    from benchmarks.data import app_database
    from tasks.scenario.files import write_mention_rows
    from tasks.scenario.week import generate_scenario

    texts = generate_scenario(1, datetime.fromisoformat(CLI_NOW + "+08:00"), days=7).mentions
    with tempfile.TemporaryDirectory(prefix="crisis-bench-") as tmp, app_database(Path(tmp)), \
            _prefect_server(Path(tmp)) as api_url:
        env = {**os.environ, "PREFECT_API_URL": api_url}
        files = []
        for n in range(CLI_SCAN_ROUNDS):
            rows = [{**row, "id": f"r{n}-{row['id']}"} for row in texts[:CLI_SCAN_MENTIONS]]
            files.append(Path(tmp) / f"mentions-{n}.jsonl")
            write_mention_rows(rows, files[-1])
        _cli_seconds(["scan", "--now", CLI_NOW], env, Path(tmp))  # the server's first flow run: untimed
        seconds: dict[str, list[float]] = {"help": [], "idle": [], "batch": []}
        for path in files:
            seconds["help"].append(_cli_seconds(["--help"], env, Path(tmp)))
            seconds["batch"].append(_cli_seconds(["scan", "--file", str(path), "--now", CLI_NOW], env, Path(tmp)))
            seconds["idle"].append(_cli_seconds(["scan", "--now", CLI_NOW], env, Path(tmp)))
    median = {name: statistics.median(values) for name, values in seconds.items()}
    comparisons = []
    for name, label in (("idle", "crisis scan, nothing new"), ("batch", f"crisis scan, {CLI_SCAN_MENTIONS:,} new")):
        goal = CLI_SCAN_GOALS[name]
        row = comparison(f"{label} (goal ≤ {goal:g} s)", median[name] * 1000, "ms", "crisis --help",
                         median["help"] * 1000, None,
                         [ratio(v, h) for v, h in zip(seconds[name], seconds["help"], strict=True)])
        comparisons.append({**row, "goal_text": f"≤ {goal:g} s", "meets_goal": median[name] <= goal})
    return {"rounds": CLI_SCAN_ROUNDS, "mentions": CLI_SCAN_MENTIONS,
            "seconds": {name: [round(v, 3) for v in values] for name, values in seconds.items()},
            "median_seconds": {name: round(v, 3) for name, v in median.items()},
            "goal_seconds": CLI_SCAN_GOALS, "comparisons": comparisons}


BENCHMARKS: list[Benchmark] = [
    Benchmark("analysis", bench_analysis, f"analyse_many on {REVIEW_TEXTS:,} real reviews"),
    Benchmark("scan", bench_scan, f"scan {SCAN_MENTIONS:,} new mentions from a drop folder (a week at once; a burst): read, analyse, store, detect (SQLite)"),
    Benchmark("cli-scan", bench_cli_scan, f"crisis scan against a running Prefect server: idle, and {CLI_SCAN_MENTIONS:,} new mentions"),
    Benchmark("dismissed", bench_dismissed, f"detection with a {DISMISSED_REPOSTS:,}-post story closed as 误报 vs the "
              "same week without it (SQLite)"),
    Benchmark("compensation", bench_compensation,
              f"load + validate + plan + ledger of {COMPENSATION_ORDERS:,} orders (SQLite, PostgreSQL)"),
    Benchmark("backfill", bench_backfill, "re-analyse 40,000 stored mentions on Dask: 2 workers vs 1 (SQLite, PostgreSQL)"),
    Benchmark("reputation", bench_reputation, f"daily reputation indicators, {REPUTATION_DAYS} days × 10 brands over "
              f"{REPUTATION_MENTIONS:,} stored mentions vs a plain pandas groupby (SQLite)"),
]


def _spread(paired: Sequence[float]) -> str:
    return f"{min(paired):.2f}–{max(paired):.2f}×" if len(paired) > 1 else "–"


def render(results: dict[str, dict[str, object]], console: Console) -> None:
    """Print every comparison: the figure, its baseline, the ratio and the goal."""
    table = Table(
        title=f"Throughput as ratios to baselines measured in this run ({os.cpu_count()} CPUs). Rates are "
        f"medians of {REPEATS} interleaved rounds; ratio = median of the per-round ratios",
        title_justify="left",
    )
    columns = (
        ("benchmark", "left"), ("figure", "left"), ("value", "right"), ("baseline", "left"),
        ("baseline value", "right"), ("ratio", "right"), ("per round", "right"), ("goal", "right"),
        ("", "left"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for name, result in results.items():
        for row in result.get("comparisons", []):  # type: ignore[union-attr]
            goal = row["goal_ratio"]
            met = row["meets_goal"]
            mark = "" if met is None else ("[green]met[/]" if met else "[red]below[/]")
            table.add_row(
                name, row["figure"], f"{row['value']:,.0f} {row['unit']}", row["baseline"],
                f"{row['baseline_value']:,.0f}", f"{row['ratio']:.2f}×", _spread(row["paired_ratios"]),
                row.get("goal_text") or ("reported" if goal is None else f"≥ {goal:g}×"), mark,
            )
    console.print(table)
    scan = results.get("scan")
    for case in ("week", "burst", "real") if scan else ():
        c, t = scan[case], scan[case]["seconds"]
        console.print(
            f"scan ({case}): {c['mentions']:,} mentions, {c['inserted']:,} inserted, "
            f"{len(c['incidents'])} incident change(s); read {t['read']} s, analyse {t['analyse']} s, "
            f"store {t['store']} s, detect {t['detect']} s, total {t['total']} s ({c['mentions_per_s']:,.0f} mentions/s)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=[b.name for b in BENCHMARKS], help="run one benchmark")
    args = parser.parse_args(argv)
    require_data(*(f"sentiment/{name}.csv" for name in REVIEW_SETS))

    from config.settings import get_settings

    var_path = get_settings().var_path  # the real var dir, read before any benchmark changes the environment
    console = Console()
    if not console.is_terminal:
        console = Console(width=150)
    started = time.perf_counter()
    results: dict[str, dict[str, object]] = {}
    for bench in BENCHMARKS:
        if args.only and bench.name != args.only:
            continue
        with console.status(f"{bench.name}: {bench.description}…"):
            results[bench.name] = bench.run()
    render(results, console)
    payload: dict[str, object] = {
        "generated_at": now_iso(),
        "machine": {"cpus": os.cpu_count()},
        **results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    path = write_latest(var_path, "bench", payload)
    console.print(f"wrote {path} in {payload['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
