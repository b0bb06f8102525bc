"""The held-out CED brand check (benchmarks/ced_brands.py): every selected event judged, and judged usably."""

from __future__ import annotations

import pandas as pd

from benchmarks.ced import CRISIS, QUIET, Verdict
from benchmarks.ced_brands import EVENTS, select_events
from benchmarks.ced_hourly import HOURLY_FILES, SKIP
from benchmarks.data import DATA_DIR, require_data
from config.files import load_lexicon
from tasks.monitoring.analysis import simplified


def assert_judged_usably(events: pd.DataFrame, ids: list[int], verdicts: dict[int, Verdict]) -> None:
    """Every selected event judged once, none flagged by CED's consumer keyword, each watch term named in its post
    (as the analysis reads it), the categories of crises known and only theirs, every verdict with a reason."""
    assert sorted(verdicts) == ids
    assert not set(ids) & set(events.loc[events["consumer_keyword"] == 1, "event_id"])
    # as the analysis reads a post: traditional characters as simplified (瓶裝水 is 瓶装水), Latin letters in any case
    text = dict(zip(events["event_id"], simplified([str(t) for t in events["text"]]), strict=True))
    unnamed = [e for e in ids if verdicts[e].kind != SKIP
               and not any(alias.casefold() in text[e].casefold() for alias in verdicts[e].watch.split("|"))]
    assert unnamed == []
    categories = set(load_lexicon().categories)
    crisis = [v for v in verdicts.values() if v.kind == CRISIS]
    assert crisis and all(v.categories and set(v.categories) <= categories for v in crisis)
    assert all(not v.categories for v in verdicts.values() if v.kind != CRISIS)
    assert {v.kind for v in verdicts.values()} == {CRISIS, QUIET, SKIP}
    assert all(v.reason for v in verdicts.values())


def test_every_selected_event_is_judged_once_with_a_term_it_names_and_known_categories() -> None:
    require_data(*HOURLY_FILES)
    events = pd.read_csv(DATA_DIR / HOURLY_FILES[0], encoding="utf-8")
    assert_judged_usably(events, select_events(events), EVENTS)


def test_the_halves_split_the_judged_events_by_story() -> None:
    """Copies of one story never straddle the halves (else reading dev would show test's text), and each half
    has crisis and quiet events to measure."""
    from benchmarks.ced_brands import DEV, TEST, halves
    from benchmarks.ced_hourly import stories

    require_data(*HOURLY_FILES)
    events = pd.read_csv(DATA_DIR / HOURLY_FILES[0], encoding="utf-8")
    split = halves(events)
    judged = [e for e in select_events(events) if EVENTS[e].kind != SKIP]
    assert sorted(split[DEV] + split[TEST]) == judged and not set(split[DEV]) & set(split[TEST])
    story = stories({e: str(t) for e, t in zip(events["event_id"], events["text"], strict=True) if e in judged}, EVENTS)
    assert not {story[e] for e in split[DEV]} & {story[e] for e in split[TEST]}
    for half in (DEV, TEST):
        assert {EVENTS[e].kind for e in split[half]} == {CRISIS, QUIET}
