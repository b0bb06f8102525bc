"""The fresh held-out CED check (benchmarks/ced_fresh.py): every selected event judged once, none judged twice."""

from __future__ import annotations

import pandas as pd

from benchmarks.ced import CRISIS, QUIET
from benchmarks.ced_brands import EVENTS as BRAND_EVENTS
from benchmarks.ced_fresh import EVENTS, select_events
from benchmarks.ced_hourly import EVENTS as HOURLY_EVENTS
from benchmarks.ced_hourly import HOURLY_FILES, SKIP
from benchmarks.data import DATA_DIR, require_data
from config.files import load_lexicon
from tasks.monitoring.analysis import simplified


def test_every_selected_event_is_judged_once_with_a_term_it_names_and_known_categories() -> None:
    require_data(*HOURLY_FILES)
    events = pd.read_csv(DATA_DIR / HOURLY_FILES[0], encoding="utf-8")
    ids = select_events(events)
    assert sorted(EVENTS) == ids
    # no event of an earlier set: the ones sessions read while tuning detection
    assert not set(ids) & (set(BRAND_EVENTS) | set(HOURLY_EVENTS))
    assert not set(ids) & set(events.loc[events["consumer_keyword"] == 1, "event_id"])
    text = dict(zip(events["event_id"], simplified([str(t) for t in events["text"]]), strict=True))
    unnamed = [e for e in ids if EVENTS[e].kind != SKIP
               and not any(alias.casefold() in text[e].casefold() for alias in EVENTS[e].watch.split("|"))]
    assert unnamed == []
    categories = set(load_lexicon().categories)
    crisis = [v for v in EVENTS.values() if v.kind == CRISIS]
    assert crisis and all(v.categories and set(v.categories) <= categories for v in crisis)
    assert all(not v.categories for v in EVENTS.values() if v.kind != CRISIS)
    assert {v.kind for v in EVENTS.values()} == {CRISIS, QUIET, SKIP}
    assert all(v.reason for v in EVENTS.values())
