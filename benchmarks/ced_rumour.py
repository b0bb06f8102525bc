"""The rumour signal (tasks/triage/rumour.py `assess`) on every CED original post, against CED's own labels.

CED labels each of its 3,358 Weibo events rumour or non-rumour. Each original post is judged alone, as the
origin of an incident whose reposts say nothing (the debunking-share signal needs reposts, so it never fires
here): marked or not, and the reason. Reported for two parts: the events that are not about consumer topics,
which the spread-call words were read from, and the 191 consumer events, which they were not (held out).
It measures and reports; it asserts nothing.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from rich.console import Console
from rich.table import Table

from benchmarks.data import DATA_DIR

EVENTS_FILE = "events/CED_events.csv"


def evaluate_rumour_signal() -> dict[str, object]:
    """Return, per part, the rumours and non-rumours and how many of each the signal marks."""
    from tasks.monitoring.lexicon import lexicon_data
    from tasks.triage.rumour import Post, assess

    events = pd.read_csv(DATA_DIR / EVENTS_FILE, encoding="utf-8")
    brands = list(lexicon_data().brands)
    at = datetime(2013, 1, 1)
    parts: dict[str, dict[str, object]] = {}
    for name, consumer in (("tuning (not consumer topics)", 0), ("held out (consumer topics)", 1)):
        part = events[events["consumer_keyword"] == consumer]
        marked = [assess([Post(str(text), False, at)], [], brands).possible for text in part["text"]]
        rumour = [bool(label) for label in part["label"]]
        hits = sum(m and r for m, r in zip(marked, rumour, strict=True))
        false = sum(m and not r for m, r in zip(marked, rumour, strict=True))
        parts[name] = {"rumours": sum(rumour), "non_rumours": len(rumour) - sum(rumour), "rumours_marked": hits,
                       "non_rumours_marked": false,
                       "precision": round(hits / (hits + false), 3) if hits + false else None,
                       "recall": round(hits / sum(rumour), 3) if any(rumour) else None}
    return parts


def render(result: dict[str, dict[str, object]], console: Console) -> None:
    table = Table(title="Rumour signal on CED original posts (each alone, against CED's rumour labels)",
                  title_justify="left")
    for column in ("part", "rumours", "marked", "non-rumours", "marked ", "precision", "recall"):
        table.add_column(column)
    for name, p in result.items():
        table.add_row(name, str(p["rumours"]), str(p["rumours_marked"]), str(p["non_rumours"]),
                      str(p["non_rumours_marked"]), f"{p['precision']:.1%}" if p["precision"] is not None else "–",
                      f"{p['recall']:.1%}" if p["recall"] is not None else "–")
    console.print(table)
