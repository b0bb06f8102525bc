"""Replay of the evaluation week through the real scan and triage code (issue 4): six injected crises, one of
each category, open within two 30-minute scans in their category at about their intended level; ordinary
chatter and a 双11-like surge open nothing. One replay per seed (50-110 s on the shared 2-core machine) serves
them all; the second seed shows the rules are not tuned to one draw of the chatter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from benchmarks.replay import MAX_SCANS_TO_OPEN, SEED, ReplayResult, replay_week, standard_week
from config.files import clear_caches
from tasks.db import reset_engine, upgrade_database
from tasks.scenario.crisis import SIZES


@pytest.fixture(scope="module", params=[SEED, 42], ids=lambda seed: f"seed-{seed}")
def replay(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplayResult]:
    """The standard week, and the same crises on other chatter (another seed), each replayed once."""
    folder = tmp_path_factory.mktemp("replay")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CRISIS_VAR_DIR", str(folder / "var"))
        env.setenv("CRISIS_ENV", "test")
        env.delenv("CRISIS_DATABASE_URL", raising=False)
        clear_caches()
        reset_engine()
        upgrade_database()
        try:
            yield replay_week(standard_week(request.param), folder)
        finally:
            reset_engine()
            clear_caches()


def describe(result: ReplayResult) -> str:
    return "\n".join(
        f"{o.crisis.category} {o.crisis.size}: scans {o.scans_to_open}, "
        + (f"{o.incident.category} {o.incident.level_at_open}→{o.incident.level} {o.incident.rules}" if o.incident
           else f"not opened (absorbed by {o.absorbed_by})")
        for o in result.outcomes
    )


def test_the_week_has_a_crisis_of_every_category_and_size_and_a_surge(replay: ReplayResult) -> None:
    week = standard_week(SEED)
    assert replay.scans == 7 * 48 and 5000 < replay.mentions < 7000
    assert len({o.crisis.category for o in replay.outcomes}) == 6
    assert {o.crisis.size for o in replay.outcomes} == set(SIZES)
    assert len({o.crisis.start.date() for o in replay.outcomes}) == 6
    assert week.surge is not None and week.surge.multiplier >= 5
    assert all(o.crisis.start - week.start > timedelta(days=1) for o in replay.outcomes)


def test_every_crisis_opens_within_two_scans_of_its_start(replay: ReplayResult) -> None:
    assert all(o.scans_to_open is not None and o.scans_to_open <= MAX_SCANS_TO_OPEN for o in replay.outcomes), \
        describe(replay)


def test_every_crisis_opens_in_its_own_category(replay: ReplayResult) -> None:
    assert all(o.category_ok for o in replay.outcomes), describe(replay)


def test_every_crisis_level_is_within_one_of_the_intended_one_when_it_opens_and_at_its_peak(
        replay: ReplayResult) -> None:
    gaps = [(o.open_level_gap, o.level_gap) for o in replay.outcomes]
    assert all(g is not None and g <= 1 for pair in gaps for g in pair), describe(replay)
    large = [o for o in replay.outcomes if o.crisis.size == "large"]
    assert all(o.incident and o.incident.level in ("I", "II") for o in large), describe(replay)


def test_no_short_or_long_spike_opens_from_ordinary_chatter_or_the_surge(replay: ReplayResult) -> None:
    spikes = [f for f in replay.false_positives if {"short_spike", "long_spike"} & set(f.rules)]
    assert spikes == []


def test_nothing_at_all_opens_from_ordinary_chatter_or_the_surge(replay: ReplayResult) -> None:
    assert [(f.brand, f.category, f.rules) for f in replay.false_positives] == []
