"""The fresh held-out CED check (benchmarks/ced_fresh.py): every selected event judged once, none judged twice."""

from __future__ import annotations

import pandas as pd

from benchmarks.ced_brands import EVENTS as BRAND_EVENTS
from benchmarks.ced_fresh import EVENTS, select_events
from benchmarks.ced_hourly import EVENTS as HOURLY_EVENTS
from benchmarks.ced_hourly import HOURLY_FILES
from benchmarks.data import DATA_DIR, require_data
from tests.unit.test_ced_brands import assert_judged_usably


def test_every_selected_event_is_judged_once_with_a_term_it_names_and_known_categories() -> None:
    require_data(*HOURLY_FILES)
    events = pd.read_csv(DATA_DIR / HOURLY_FILES[0], encoding="utf-8")
    ids = select_events(events)
    assert_judged_usably(events, ids, EVENTS)
    # no event of an earlier set: the ones sessions read while tuning detection
    assert not set(ids) & (set(BRAND_EVENTS) | set(HOURLY_EVENTS))
