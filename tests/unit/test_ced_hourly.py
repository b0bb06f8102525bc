"""The hourly-count CED check (benchmarks/ced_hourly.py): its timelines and its verdicts."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from benchmarks.ced_hourly import EVENTS, HOURLY_FILES, SKIP, canonical_rows, peak_hour_end, repost_times, select_events
from benchmarks.data import DATA_DIR, require_data


def test_each_hours_reposts_fall_in_that_hour_and_never_before_the_original() -> None:
    hours = pd.DataFrame({"hour": ["2013-01-11 10:00", "2013-01-11 11:00", "2013-01-11 14:00"],
                          "n_reposts": [3, 4, 1]})
    first = datetime(2013, 1, 11, 10, 45, 8)
    times = repost_times(first, hours)
    assert len(times) == 8
    assert times == sorted(times) and times[0] > first
    assert [t.hour for t in times] == [10, 10, 10, 11, 11, 11, 11, 14]
    assert peak_hour_end(hours) == datetime(2013, 1, 11, 12, 0)
    late = repost_times(first, hours, first_repost=datetime(2013, 1, 11, 10, 57))  # the dataset's first repost
    assert all(t > datetime(2013, 1, 11, 10, 57) for t in late[:3]) and late[3:] == times[3:]


def test_the_file_is_the_original_and_one_plain_repost_of_it_per_counted_repost() -> None:
    event = pd.Series({"event_id": 7, "text": "【打针西瓜】黑心商贩", "user_followers": 1200.0,
                       "timestamp": "2013-05-26 16:35:00"})
    rows = canonical_rows(event, pd.DataFrame({"hour": ["2013-05-26 16:00", "2013-05-26 17:00"], "n_reposts": [2, 5]}))
    original, reposts = rows[0], rows[1:]
    assert original["reach"] == 1200 and original["published_at"] == "2013-05-26T16:35:00+08:00"
    assert len(reposts) == 7
    assert {r["text"] for r in reposts} == {"转发微博"} and {r["repost_of"] for r in reposts} == {original["id"]}
    assert all(str(r["published_at"]) > str(original["published_at"]) for r in reposts)


def test_every_hourly_event_is_judged_and_names_its_watch_term() -> None:
    require_data(*HOURLY_FILES)
    events, _, sample = (pd.read_csv(DATA_DIR / name, encoding="utf-8") for name in HOURLY_FILES)
    ids = select_events(events, sample)
    assert sorted(EVENTS) == ids
    text = dict(zip(events["event_id"], events["text"], strict=True))
    unnamed = [e for e in ids if EVENTS[e].kind != SKIP
               and not any(alias in str(text[e]) for alias in EVENTS[e].watch.split("|"))]
    assert unnamed == []


def test_copies_of_one_story_are_grouped_and_counted_once() -> None:
    from benchmarks.ced import CRISIS, QUIET, Verdict
    from benchmarks.ced_hourly import stories, summarise_stories

    oil, fish = Verdict("地沟油", CRISIS, ""), Verdict("鱼", CRISIS, "")
    texts = {1: "【调查地沟油的记者李翔，死了】身中10余刀，惨死。他为食品安全付出了年轻的生命。",
             2: "调查地沟油的记者李翔死了!!身中十余刀惨死，他为食品安全付出了年轻的生命 @某人",
             3: "怎么鉴定地沟油：炒菜时放一颗剥皮的蒜头，蒜头变红就是地沟油",
             4: "调查地沟油的记者李翔，死了。身中10余刀，惨死。他为食品安全付出了年轻的生命"}
    verdicts = {1: oil, 2: oil, 3: oil, 4: fish}  # 4: the same words, another watch term: another story
    story = stories(texts, verdicts)
    assert story == {1: 1, 2: 1, 3: 3, 4: 4}
    rows = [{"event_id": 1, "kind": CRISIS, "opened_at": None}, {"event_id": 2, "kind": CRISIS, "opened_at": "x"},
            {"event_id": 3, "kind": CRISIS, "opened_at": None}, {"event_id": 4, "kind": QUIET, "opened_at": None}]
    assert summarise_stories(rows, story) == {"crisis_stories": 2, "crisis_stories_alarmed": 1,
                                              "quiet_stories": 1, "quiet_stories_alarmed": 0}
