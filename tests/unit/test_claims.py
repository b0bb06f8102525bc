"""Health claims and debunks (tasks/monitoring/claims.py) on fixed sentences written for these tests."""

from __future__ import annotations

import pytest

from tasks.monitoring.claims import health_claims_in, is_debunk, reading_note
from tests.unit.conftest import read_toml

LEXICON = read_toml("lexicon.toml")
CLAIMS = LEXICON["health_claims"]
DEBUNK = LEXICON["debunk"]


@pytest.mark.parametrize(("text", "claims"), [
    ("央视报道：青禾承认旗下青禾牛奶含有国家禁用农药，专家指出长期饮用可致癌", {"禁用农药", "国家禁用", "致癌"}),
    ("网友爆料澄星电水壶内胆重金属超标，已有两名儿童送医", {"重金属", "超标", "送医"}),
    ("青禾坚果礼盒被检出黄曲霉，不仅超标还可能致癌", {"黄曲霉", "超标", "致癌"}),
    # accidents and suspected fraud, reported as calmly as news reports a scare
    ("据当地媒体报道，一名用户的澄星空气炸锅使用中起火，手臂烧伤", {"起火", "烧伤"}),
    ("消息称青禾涉嫌用过期奶粉生产青禾牛奶，该公司副总证实已停产", {"涉嫌"}),
])
def test_a_claim_made_is_found(text: str, claims: set[str]) -> None:
    assert set(health_claims_in(text, CLAIMS)) == claims


@pytest.mark.parametrize("text", [
    "青禾牛奶经第三方检测，不含三聚氰胺，各项指标均未超标",
    "澄星电水壶内胆没有重金属，无有害物质，放心用",
    "青禾燕麦片好吃到哭，笑死，一包根本不够",
    "入住的是超标准间，澄星电水壶是新的",
    "澄星耳机听重金属音乐也不失真",
    "澄星电水壶防干烧防触电，避免烫伤，老人用也放心",
    "爆炸消息：澄星空气炸锅双11半价，手慢无",
    "苏联解体那年出生的我，第一次用上了澄星破壁机",
])
def test_a_claim_denied_or_absent_is_not_found(text: str) -> None:
    assert health_claims_in(text, CLAIMS) == []


@pytest.mark.parametrize("text", [
    "青禾官方辟谣：网传青禾牛奶致癌系谣言，已报警处理",
    "所谓澄星空气炸锅爆炸致人受伤是假新闻，大家别转了",
    "网传木棉四件套甲醛超标，经核实消息不实",
    "网传青禾燕麦片含农药，检测结果出来了，是假的",
    "有人造谣澄星电水壶漏电，官方已澄清",
])
def test_a_post_refuting_a_story_is_a_debunk(text: str) -> None:
    assert is_debunk(text, DEBUNK)


@pytest.mark.parametrize("text", [
    "这不是谣言，青禾牛奶喝完全家都拉肚子了",
    "我亲身经历，不是造谣，澄星空气炸锅真的起火了",
    "青禾牛奶致癌的说法是谣言吗？求辟谣",
    "澄星到现在还没辟谣，看来是真的",
    "木棉四件套价格不实惠，质量一般",
    "说明书内容不实在，看了也不会用",
    "有人说是假的我还不信，买回来一看还真是假货",
    "先澄清一下，我不是职业差评师",
    "青禾坚果礼盒很好吃，推荐",
])
def test_affirming_asking_or_unrelated_is_not_a_debunk(text: str) -> None:
    assert not is_debunk(text, DEBUNK)


def test_the_note_says_why_the_label_is_not_the_tone() -> None:
    assert reading_note(False, ["致癌", "禁用农药"]) == "风险说法：致癌、禁用农药"
    assert reading_note(True, ["致癌"]).startswith("辟谣")
    assert reading_note(False, []) == ""
