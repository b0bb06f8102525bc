"""What a repost counts for (tasks/monitoring/duplicates.py spread_reading, resolve_reposts), the canonical
format's repost and engagement fields, and the viral_post rule (tasks/triage/detection.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tasks.monitoring.duplicates import TERMS_LENGTH, Reading, RepostPair, resolve_reposts, spread_reading, stored_terms
from tasks.monitoring.sources import to_mention
from tasks.triage.detection import (
    GroupWindow,
    SpreadingPost,
    Thresholds,
    evaluate,
    spreading_watch,
    viral_needed,
    viral_post,
)

COMPLAINT = Reading("澄星", "澄星空气炸锅", "产品质量", True, 0.05)
PRAISE = Reading("澄星", "澄星空气炸锅", None, False, 0.95)
BARE = Reading(None, None, None, False, 0.62)  # "转发微博": no brand, a tone that means nothing
T = Thresholds()


def test_a_bare_repost_counts_for_what_it_spreads() -> None:
    assert spread_reading(BARE, COMPLAINT, debunk=False) == COMPLAINT
    assert spread_reading(Reading(None, None, None, True, 0.2), PRAISE, debunk=False) == PRAISE


def test_a_debunking_repost_takes_the_brand_but_is_no_complaint() -> None:
    reading = spread_reading(Reading(None, None, None, True, 0.3), COMPLAINT, debunk=True)
    assert reading is not None
    assert (reading.brand, reading.category, reading.negative) == ("澄星", "产品质量", False)


def test_a_repost_naming_another_brand_keeps_its_own_and_is_not_linked() -> None:
    own = Reading("青禾", "青禾牛奶", None, False, 0.9)
    assert spread_reading(own, COMPLAINT, debunk=False) is None
    pair = RepostPair(7, "r7", own, False, None, 1, COMPLAINT, None)
    assert resolve_reposts([pair]) == {}


def test_a_repost_complaining_in_its_own_words_stays_negative() -> None:
    own = Reading("澄星", None, "售后服务", True, 0.1)
    assert spread_reading(own, PRAISE, debunk=False) == Reading("澄星", "澄星空气炸锅", "售后服务", True, 0.1)


SCARE = Reading("澄星", "澄星空气炸锅", "人身安全/食品安全", True, 0.4, "致癌")


def test_a_repost_spreads_the_originals_critical_terms_unless_it_debunks_or_complains_itself() -> None:
    assert spread_reading(BARE, SCARE, debunk=False) == SCARE, "a bare repost of 致癌 counts as a second voice"
    own_words = Reading(None, None, None, True, 0.2, "中毒,致癌")
    assert spread_reading(own_words, SCARE, debunk=False).critical_terms == "致癌,中毒"  # type: ignore[union-attr]
    debunked = spread_reading(Reading(None, None, None, False, 0.5), SCARE, debunk=True)
    assert debunked is not None and (debunked.negative, debunked.critical_terms) == (False, "")
    praised = Reading("澄星", "澄星空气炸锅", None, False, 0.9)
    own_scare = Reading("澄星", None, None, True, 0.2, "爆炸")
    assert spread_reading(own_scare, praised, debunk=False).critical_terms == "爆炸"  # type: ignore[union-attr]


def test_a_repost_spreads_the_originals_claims_unless_it_debunks() -> None:
    rumour = Reading("青禾", "青禾牛奶", "人身安全/食品安全", True, 0.7, "", "三聚氰胺,送医")
    assert spread_reading(BARE, rumour, debunk=False) == rumour, "a bare repost makes the original's claims again"
    own_words = Reading(None, None, None, True, 0.2, "", "洗胃,送医")
    assert spread_reading(own_words, rumour, debunk=False).claims == "三聚氰胺,送医,洗胃"  # type: ignore[union-attr]
    debunked = spread_reading(Reading(None, None, None, False, 0.5), rumour, debunk=True)
    assert debunked is not None and (debunked.negative, debunked.claims) == (False, "")


@pytest.mark.parametrize("terms, stored", [
    (["致癌", "", "送医", "致癌"], "致癌,送医"),
    (["长长的说法" * 5] * 1 + [f"说法{i}" for i in range(60)], None),
])
def test_terms_are_stored_once_each_and_cut_whole_to_fit_the_column(terms: list[str], stored: str | None) -> None:
    value = stored_terms(terms)
    assert len(value) <= TERMS_LENGTH
    if stored is not None:
        assert value == stored
    else:
        kept = value.split(",")
        assert kept == (["长长的说法" * 5] + [f"说法{i}" for i in range(60)])[: len(kept)], "whole terms, in order"
        assert len(value) > TERMS_LENGTH - 6, "as many as fit"


def test_a_repost_of_an_unwatched_post_keeps_its_own_reading() -> None:
    unwatched = Reading(None, None, None, True, 0.1)
    assert spread_reading(BARE, unwatched, debunk=False) == BARE


@pytest.mark.parametrize("own, original, debunk", [
    (BARE, COMPLAINT, False), (BARE, PRAISE, False), (BARE, COMPLAINT, True),
    (Reading("澄星", None, "售后服务", True, 0.1), PRAISE, False),
    (BARE, SCARE, False), (Reading(None, None, None, True, 0.2, "中毒,致癌"), SCARE, False),
    (Reading(None, None, None, True, 0.2, "", "洗胃"), Reading("青禾", None, "人身安全/食品安全", True, 0.7, "", "送医"),
     False),
])
def test_resolving_a_resolved_repost_changes_nothing(own: Reading, original: Reading, debunk: bool) -> None:
    once = spread_reading(own, original, debunk)
    assert once is not None and spread_reading(once, original, debunk) == once


def test_a_repost_links_to_the_first_post_of_the_cascade() -> None:
    via_repeat = RepostPair(9, "r9", BARE, False, None, 5, COMPLAINT, original_of=2)
    direct = RepostPair(8, "r8", BARE, False, None, 5, COMPLAINT, original_of=None)
    done = RepostPair(4, "r4", COMPLAINT, False, 5, 5, COMPLAINT, original_of=None)
    assert resolve_reposts([via_repeat, direct, done]) == {9: (COMPLAINT, 2), 8: (COMPLAINT, 5)}


def _record(**values: object) -> object:
    return to_mention({"id": "m1", "text": "转发微博", **values}, {}, "weibo", None, datetime(2026, 11, 27, tzinfo=UTC),
                      ZoneInfo("Asia/Shanghai"))


def test_repost_and_engagement_fields_are_read_as_platforms_give_them() -> None:
    mention = _record(repost_of=4988123456789, reposts="1.2万", comments="3,400", likes=17)
    assert (mention.repost_of, mention.reposts, mention.comments, mention.likes) == ("4988123456789", 12000, 3400, 17)
    plain = _record()
    assert (plain.repost_of, plain.reposts, plain.comments, plain.likes) == (None, None, None, None)


def test_an_apis_nested_repost_and_counts_are_mapped_through_fields() -> None:
    fields = {"id": "mid", "repost_of": "retweeted_status.mid", "reposts": "reposts_count",
              "likes": "attitudes_count"}
    record = {"mid": "5001", "text": "转发微博", "retweeted_status": {"mid": "4988", "text": "澄星…"},
              "reposts_count": 3, "attitudes_count": "2万"}
    mention = to_mention(record, fields, "weibo-search", "微博", datetime(2026, 11, 27, tzinfo=UTC),
                         ZoneInfo("Asia/Shanghai"))
    assert (mention.repost_of, mention.reposts, mention.likes, mention.comments) == ("4988", 3, 20000, None)


@pytest.mark.parametrize("values, message", [
    ({"reposts": "很多"}, "reposts: 不是数字"), ({"likes": -3}, "likes: 是负数"),
    ({"comments": 3e10}, "comments: 数值过大"),
])
def test_a_bad_engagement_count_names_the_field(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _record(**values)


def post(reposts: int, reach: int, reported: int | None = None) -> SpreadingPost:
    return SpreadingPost("4988", "澄星空气炸锅用了两天就冒黑烟", reach, reposts, reported)


def group(*posts: SpreadingPost) -> GroupWindow:
    return GroupWindow(brand="澄星", category="产品质量", negative=1 + sum(p.reposts for p in posts),
                       spreading=list(posts))


@pytest.mark.parametrize("reach, needed", [(0, 50), (500, 50), (20_000, 200), (80_000, 800), (5_000_000, 1000)])
def test_the_reposts_needed_grow_with_the_authors_reach_between_floor_and_cap(reach: int, needed: int) -> None:
    assert viral_needed(reach, T) == needed


def test_a_small_accounts_post_reposted_far_beyond_its_audience_fires_with_its_numbers() -> None:
    hit = viral_post(group(post(200, 500)), T)
    assert hit is not None and hit.rule == "viral_post"
    for number in ("4988", "触达 500 人", "最近 60 分钟被转发 200 次", "门槛 50", "× 0.01", "不少于 50", "至多 1,000"):
        assert number in hit.reason
    assert "viral_post" in [h.rule for h in evaluate(group(post(200, 500)), T)]


def test_the_same_reposts_of_a_big_accounts_post_are_ordinary() -> None:
    assert viral_post(group(post(200, 80_000)), T) is None
    assert viral_post(group(post(800, 80_000)), T) is not None
    assert viral_post(group(post(49, 500)), T) is None


def test_the_post_furthest_beyond_its_threshold_is_named() -> None:
    hit = viral_post(group(post(600, 1_000_000), SpreadingPost("small", "小号", 300, 120)), T)
    assert hit is not None and "small" in hit.reason and "门槛 50" in hit.reason


def test_a_platforms_reported_count_counts_when_few_reposts_are_stored() -> None:
    hit = viral_post(group(post(3, 500, reported=400)), T)
    assert hit is not None and "平台报告转发 400 次" in hit.reason and "收录 3 次" in hit.reason
    assert viral_post(group(post(3, 500, reported=40)), T) is None


def test_growth_between_two_reads_counts_for_an_older_post() -> None:
    """A post past its first day whose platform count rose by 900 between the read before the window and one
    in it spreads again now, although no repost of it was stored; the reason says it was growth."""
    older = SpreadingPost("4988", "澄星空气炸锅用了两天就冒黑烟", 20_000, 0, None, growth=900)
    hit = viral_post(group(older), T)
    assert hit is not None and "两次读取之间平台报告的转发增加 900 次" in hit.reason and "门槛 200" in hit.reason
    assert viral_post(group(SpreadingPost("4988", "冒黑烟", 20_000, 0, None, growth=150)), T) is None
    assert viral_post(group(SpreadingPost("4988", "冒黑烟", 20_000, 0, None, growth=None)), T) is None


def test_thresholds_are_tunable() -> None:
    strict = Thresholds(viral_min_reposts=300, viral_audience_share=0.05, viral_max_reposts=5000)
    assert viral_needed(500, strict) == 300 and viral_needed(200_000, strict) == 5000
    assert viral_post(group(post(200, 500)), strict) is None


def test_a_post_no_category_explains_must_spread_further_and_the_reason_says_so() -> None:
    """In 其他 only the model's tone says the post is a complaint (it reads Weibo jokes and news as negative as
    often), so the same spread that opens a 产品质量 incident is not enough there: it takes three times as many."""
    unexplained = GroupWindow(brand="澄星", category="其他", negative=81, spreading=[post(80, 500)])
    assert viral_needed(500, T, unexplained=True) == 150
    assert viral_post(group(post(80, 500)), T) is not None
    assert viral_post(unexplained, T) is None
    unexplained.spreading = [post(150, 500)]
    hit = viral_post(unexplained, T)
    assert hit is not None and "门槛 150" in hit.reason and "未归入任何危机类别，再 × 3" in hit.reason
    assert viral_needed(5_000_000, T, unexplained=True) == 3000  # the cap is for explained posts


def test_a_post_half_way_to_its_threshold_is_to_verify_and_the_watch_opens_nothing() -> None:
    """The 待核实 watch lists a negative post that has spread `watch_share` (half) of viral_post's threshold for a
    post in a crisis category: 25 of 50 for this author, in 产品质量 and in 其他 alike (where viral_post needs 150).
    It is no rule: evaluate() never returns it."""
    assert spreading_watch(group(post(24, 500)), T) is None
    hit = spreading_watch(group(post(25, 500)), T)
    assert hit is not None and hit.rule == "spreading_watch"
    assert hit.reason.startswith("待核实：「澄星·产品质量」原帖 4988「澄星空气炸锅用了两天就冒黑烟」（作者触达 500 人）")
    assert "被转发 25 次（开启门槛 50 次）；规则未开启事件，请人工判断" in hit.reason
    other = GroupWindow(brand="澄星", category="其他", negative=80, spreading=[post(24, 500)])
    assert spreading_watch(other, T) is None
    other.spreading = [post(25, 500)]
    hit = spreading_watch(other, T)
    assert hit is not None and "（归入危机类别的帖子 50 次即开启事件，未归入任何类别的需 150 次）" in hit.reason
    assert spreading_watch(other, Thresholds(watch_share=0.6)) is None
    assert "spreading_watch" not in [h.rule for h in evaluate(other, T)]
    assert spreading_watch(GroupWindow(brand="澄星", category="其他"), T) is None, "nothing spreads, nothing to verify"
