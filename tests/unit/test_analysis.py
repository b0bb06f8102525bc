"""Chinese text analysis (tasks/monitoring/analysis.py) on fixed sentences: orderings and thresholds."""

from __future__ import annotations

import functools

import pytest

from tasks.monitoring.analysis import (
    CategoryTerms,
    LexiconData,
    analyse,
    analyse_many,
    categorise,
    match_brand,
    normalise,
)
from tasks.monitoring.sentiment import SentimentModel
from tasks.monitoring.simhash import hamming
from tests.unit.conftest import shipped_lexicon

NEGATIVE_BELOW = 0.4


@functools.cache
def model() -> SentimentModel:
    """The default model the scans use (built from its recipe on first use)."""
    from tasks.monitoring.sentiment_model import get_model

    return get_model()

COMPLAINT = "澄星空气炸锅用了两天就坏了，客服不理人，太差劲了，再也不买了，垃圾！"
NEUTRAL = "我今天买了一个东西"
PRAISE = "青禾牛奶味道很好，非常满意，物美价廉，强烈推荐，好评！"
POST = (
    "澄星空气炸锅用了两天就坏了，按键失灵还有一股焦糊味，联系客服三天都没人理，"
    "申请退货也被推诿，大家千万别买，真的踩雷了。"
)
UNRELATED = [
    "木棉四件套洗了一次就掉色起球，做工粗糙，线头很多，和宣传图片完全不一样，感觉被骗了。",
    "双十一抢的青禾牛奶到现在还没发货，问客服只会复制粘贴，物流信息一直不更新",
    "刚在拼多多下单了澄星电水壶，烧水很快，颜值也高，性价比不错",
    "我的手机号和地址被泄露了，每天接到好几个骚扰电话，怀疑是买了木棉羽绒被以后信息被卖",
]


@pytest.fixture(scope="module")
def lexicon() -> LexiconData:
    """Return config/lexicon.toml as LexiconData, its words loaded into jieba's dictionary."""
    data = shipped_lexicon()
    analyse_many([], data, NEGATIVE_BELOW, model())  # loads the user dictionary
    return data


def small_lexicon(categories: dict[str, tuple[list[str], list[str]]]) -> LexiconData:
    """Return a lexicon of just these categories, each (any, exclude)."""
    return LexiconData(brands={}, products={}, categories={n: CategoryTerms(*rule) for n, rule in categories.items()})


@pytest.mark.parametrize("word", ["澄星空气炸锅", "拼多多", "青禾坚果礼盒", "木棉四件套"])
def test_user_dictionary_keeps_brand_and_product_names_whole(lexicon: LexiconData, word: str) -> None:
    text = f"昨天在网上买了{word}，今天就到了"
    assert word in analyse(text, lexicon, NEGATIVE_BELOW, model()).tokens


def test_sentiment_orders_complaint_below_neutral_below_praise(lexicon: LexiconData) -> None:
    complaint, neutral, praise = (
        analyse(t, lexicon, NEGATIVE_BELOW, model()).positive for t in (COMPLAINT, NEUTRAL, PRAISE)
    )
    assert complaint < neutral < praise
    assert complaint < 0.2
    assert praise > 0.7


def test_only_the_complaint_is_flagged_negative(lexicon: LexiconData) -> None:
    assert analyse(COMPLAINT, lexicon, NEGATIVE_BELOW, model()).negative
    assert not analyse(PRAISE, lexicon, NEGATIVE_BELOW, model()).negative


def test_negative_flag_follows_the_threshold(lexicon: LexiconData) -> None:
    positive = analyse(NEUTRAL, lexicon, NEGATIVE_BELOW, model()).positive
    assert analyse(NEUTRAL, lexicon, positive + 0.05, model()).negative
    assert not analyse(NEUTRAL, lexicon, positive - 0.05, model()).negative


@pytest.mark.parametrize("text", ["", "   ", "\n\t \r\n", "。。。"])
def test_text_without_words_is_neither_positive_nor_negative(lexicon: LexiconData, text: str) -> None:
    result = analyse(text, lexicon, NEGATIVE_BELOW, model())
    assert result.positive == 0.5
    assert not result.negative
    assert result.brand is None and result.category is None


def test_product_names_its_brand(lexicon: LexiconData) -> None:
    assert match_brand("青禾燕麦片里吃出了异物", lexicon) == ("青禾", "青禾燕麦片")


def test_alias_names_the_brand_without_a_product(lexicon: LexiconData) -> None:
    assert match_brand("木棉优选的客服太慢了", lexicon) == ("木棉优选", None)


def test_text_without_a_brand_names_none(lexicon: LexiconData) -> None:
    assert match_brand("今天天气不错", lexicon) == (None, None)


def test_category_with_most_hits_wins(lexicon: LexiconData) -> None:
    # 售后服务 has 客服 / 退货 / 推诿; 产品质量 has 用了两天 / 坏了.
    assert categorise(POST, lexicon) == "售后服务"
    assert categorise("澄星电水壶质量太差，用了两天就坏了，客服说不能退", lexicon) == "产品质量"


def test_a_scam_warning_is_a_privacy_and_fraud_case_not_a_delivery_one(lexicon: LexiconData) -> None:
    """A warning of fake couriers (冒充快递员) is answered like a leak (warn customers, call the police), not
    like a late parcel: the scam terms outweigh the one 快递."""
    assert categorise("注意新骗局：有人冒充快递员上门送货，已经有很多人上当受骗", lexicon) == "个人信息泄露"
    assert categorise("快递三天了还没收到，物流一直不更新", lexicon) == "物流配送"


def test_category_is_none_without_hits(lexicon: LexiconData) -> None:
    assert categorise("今天天气不错", lexicon) is None
    assert analyse(PRAISE, lexicon, NEGATIVE_BELOW, model()).category is None


def test_an_excluded_term_vetoes_the_category() -> None:
    rules = {"物流配送": (["快递", "没收到"], ["驿站"]), "售后服务": (["客服"], [])}
    assert categorise("快递没收到，客服不理", small_lexicon(rules)) == "物流配送"
    assert categorise("快递没收到，在驿站找到了，客服不理", small_lexicon(rules)) == "售后服务"


def test_a_category_needs_every_required_group(lexicon: LexiconData) -> None:
    """README's example, required = ["手机号|地址|个人信息|隐私", "泄露|卖|骚扰"]: a phone number alone is not
    a privacy leak."""
    privacy = CategoryTerms(any=["泄露", "个人信息", "隐私", "骚扰电话", "信息被卖", "手机号"],
                            required=[("手机号", "地址", "个人信息", "隐私"), ("泄露", "卖", "骚扰")])
    rules = LexiconData(brands=lexicon.brands, products=lexicon.products,
                        categories={"个人信息泄露": privacy, "售后服务": CategoryTerms(any=["客服"])})
    texts = [
        "我的手机号被卖了，天天接骚扰电话",  # both groups: privacy
        "地址泄露了，快递员都知道我住哪",  # 地址 + 泄露: privacy
        "天天接骚扰电话，烦死了，客服也不管",  # no 手机号 / 地址 / 个人信息: not privacy
        "客服让我留手机号，然后就没下文了",  # 手机号 but no 卖 / 泄露: not privacy
    ]
    expected = ["个人信息泄露", "个人信息泄露", "售后服务", "售后服务"]
    assert [categorise(t, rules) for t in texts] == expected
    # the batch path finds terms through its index, the required alternatives included
    assert [a.category for a in analyse_many(texts, rules, NEGATIVE_BELOW, model())] == expected


def test_earlier_category_wins_a_tie() -> None:
    rules = {"A": (["甲"], []), "B": (["乙"], [])}
    assert categorise("乙甲", small_lexicon(rules)) == "A"


def test_critical_terms_are_flagged(lexicon: LexiconData) -> None:
    result = analyse("澄星电水壶漏电，还差点起火", lexicon, NEGATIVE_BELOW, model())
    assert set(result.critical_terms) == {"漏电", "起火"}
    assert analyse(COMPLAINT, lexicon, NEGATIVE_BELOW, model()).critical_terms == ()


def test_identical_text_has_identical_hashes(lexicon: LexiconData) -> None:
    a, b = analyse(POST, lexicon, NEGATIVE_BELOW, model()), analyse(POST, lexicon, NEGATIVE_BELOW, model())
    assert (a.simhash, a.content_hash) == (b.simhash, b.content_hash)


def test_repost_with_other_whitespace_has_the_same_content_hash(lexicon: LexiconData) -> None:
    spaced = "澄星 空气炸锅 坏了"
    a = analyse(spaced, lexicon, NEGATIVE_BELOW, model())
    b = analyse("\n  澄星\t空气炸锅   坏了 ", lexicon, NEGATIVE_BELOW, model())
    assert a.content_hash == b.content_hash
    assert a.content_hash != analyse("澄星空气炸锅坏了", lexicon, NEGATIVE_BELOW, model()).content_hash


def test_added_spaces_leave_the_simhash_unchanged(lexicon: LexiconData) -> None:
    a = analyse(POST, lexicon, NEGATIVE_BELOW, model())
    b = analyse(POST.replace("，", " ， "), lexicon, NEGATIVE_BELOW, model())
    assert hamming(a.simhash, b.simhash) == 0


@pytest.mark.parametrize("variant", ["转发：" + POST, POST.replace("三天", "四天")])
def test_near_duplicate_is_close_and_unrelated_posts_are_far(lexicon: LexiconData, variant: str) -> None:
    base = analyse(POST, lexicon, NEGATIVE_BELOW, model()).simhash
    near = analyse(variant, lexicon, NEGATIVE_BELOW, model()).simhash
    assert hamming(base, near) < 10
    for other in UNRELATED:
        assert hamming(base, analyse(other, lexicon, NEGATIVE_BELOW, model()).simhash) > 15


# The same posts as Hong Kong and Taiwan users write them, and as reposts that switch script: the lexicon, the
# tokenizer's dictionary and the sentiment model are simplified, so the analysis reads them as simplified.
TRADITIONAL = {
    "澄星空氣炸鍋用了兩天就壞了，客服不理人，太差勁了，再也不買了，垃圾！": COMPLAINT,
    "青禾牛奶味道很好，非常滿意，物美價廉，強烈推薦，好評！": PRAISE,
    "青禾堅果禮盒被檢出黃曲黴毒素，已有三名兒童食用後送進醫院。": "青禾坚果礼盒被检出黄曲霉毒素，已有三名儿童食用后送进医院。",
}


@pytest.mark.parametrize(("written", "simplified_text"), TRADITIONAL.items())
def test_a_post_in_traditional_characters_reads_as_the_same_post_in_simplified(
        lexicon: LexiconData, written: str, simplified_text: str) -> None:
    a = analyse(written, lexicon, NEGATIVE_BELOW, model())
    b = analyse(simplified_text, lexicon, NEGATIVE_BELOW, model())
    assert a.brand is not None
    assert (a.brand, a.product, a.category, a.negative, a.health_claims, a.tokens) == \
        (b.brand, b.product, b.category, b.negative, b.health_claims, b.tokens)
    assert a.positive == pytest.approx(b.positive)
    # a repost that only switched script is the same text to the duplicate linking
    assert (a.content_hash, a.simhash) == (b.content_hash, b.simhash)


def test_simplified_text_is_left_as_it_is(lexicon: LexiconData) -> None:
    """Phrase by phrase: characters that are also simplified (著 in 显著, 乾 in 乾隆) are not changed."""
    from tasks.monitoring.analysis import normalise

    for text in (POST, COMPLAINT, "效果显著，乾隆年间的老字号，里面很干净"):
        assert normalise(text) == text


def test_a_brand_alias_written_in_traditional_finds_posts_in_either_script() -> None:
    from tasks.monitoring.lexicon import lexicon_data, watching

    with watching({"麥當勞": ("麥當勞",)}):
        data = lexicon_data()
    assert "麥當勞" in data.brands  # the name stays as the operator wrote it
    for text in ("麦当劳的汉堡里吃出了虫子", "麥當勞的漢堡裏吃出了蟲子"):
        assert analyse(text, data, NEGATIVE_BELOW, model()).brand == "麥當勞"


def test_latin_letters_in_a_name_match_in_any_case() -> None:
    """People write iphone, IPHONE and iPhone alike: a watched name in Latin letters finds all of them, in the
    batch and in a single text, and a category term in Latin letters likewise."""
    from tasks.monitoring.lexicon import lexicon_data, watching

    with watching({"苹果": ("苹果", "iPhone"), "OPPO": ("OPPO",)}):
        data = lexicon_data()
    texts = ["新买的iphone充电时爆炸了", "IPHONE屏幕又黑屏了", "iPhone 信号太差", "oppo手机发烫", "今天天气不错"]
    assert [a.brand for a in analyse_many(texts, data, NEGATIVE_BELOW, model())] == ["苹果", "苹果", "苹果", "OPPO", None]
    assert match_brand("Oppo客服不理人", data) == ("OPPO", None)
    assert analyse("iphone充电时爆炸了", data, NEGATIVE_BELOW, model()).critical_terms == ("爆炸",)
    latin = small_lexicon({"个人信息泄露": (["App", "隐私"], [])})
    assert categorise("这个APP偷偷读通讯录", latin) == "个人信息泄露"


# Health scares written as news (issue 15): calm, even positive in tone, a crisis all the same.
NEWS_SCARES = [
    "【央视曝光】青禾承认旗下青禾牛奶含有国家禁用农药，专家指出该农药可致癌，香港已下架相关产品。",
    "据媒体报道，澄星电水壶内胆检出重金属超标，专家建议消费者暂停使用。",
    "青禾坚果礼盒被检出黄曲霉毒素，已有三名儿童食用后送进医院。",
    "紧急通知：刚看到新闻，青禾牛奶有一批含氯，请大家暂时别吃，转告家里人。",
    "据当地媒体报道，一名用户的澄星空气炸锅使用中起火，邻居帮忙扑灭，专家提醒注意用电安全。",
    "消息称青禾涉嫌用过期奶粉生产青禾牛奶，该公司副总证实已停产",  # reads positive (0.74): the claim decides
]


@pytest.mark.parametrize("text", NEWS_SCARES)
def test_a_health_claim_about_the_brand_is_negative_and_a_safety_crisis(lexicon: LexiconData, text: str) -> None:
    result = analyse(text, lexicon, NEGATIVE_BELOW, model())
    assert result.brand is not None and result.health_claims
    assert result.negative and not result.debunk
    assert result.category == "人身安全/食品安全"


# Scares written as news with a word of the safety category and none of health_claims: the model reads them
# positive (0.65–0.99), the category's `claims = true` makes the word a claim about the watched name.
CALM_SAFETY_NEWS = [
    ("记者把五盒青禾牛奶送去化验，结果在其中三盒里发现了大量细菌，专家建议大家多加留意。", "细菌"),
    ("据报道，质检部门在青禾燕麦片样品中发现霉菌，相关批次已经下架，消费者可以放心选购其他产品。", "霉菌"),
    ("青禾牛奶色条有讲究：红色代表天然加化学成分，黑色代表纯化学，专家提醒大家购买时留意。", "化学成分"),
]


@pytest.mark.parametrize("text, term", CALM_SAFETY_NEWS)
def test_a_safety_word_about_the_watched_name_is_a_claim_whatever_the_tone(lexicon: LexiconData, text: str,
                                                                          term: str) -> None:
    from dataclasses import replace

    result = analyse(text, lexicon, NEGATIVE_BELOW, model())
    assert result.category == "人身安全/食品安全" and term in result.health_claims
    assert result.negative and result.positive >= NEGATIVE_BELOW  # the claim decides, the tone is kept as read
    # Without the category's `claims = true` the model alone decides, and reads it as no complaint.
    assert not analyse(text, replace(lexicon, claim_categories=()), NEGATIVE_BELOW, model()).negative


def test_the_shipped_lexicon_makes_only_the_safety_category_a_claim_category() -> None:
    """What the scans read (lexicon_data, from lexicon.toml): privacy, price and quality words stay with the
    model, as they are common in praise (隐私性好, 质量很好)."""
    from tasks.monitoring.lexicon import lexicon_data

    assert list(lexicon_data().claim_categories) == ["人身安全/食品安全"]


@pytest.mark.parametrize("text", [
    "澄星电水壶用了三年没有漏电，很安全，推荐",  # the word is denied just before it
    "据报道，某地质检部门在燕麦片样品中发现霉菌，相关批次已经下架",  # no watched name
])
def test_a_denied_safety_word_or_one_without_a_watched_name_is_no_claim(lexicon: LexiconData, text: str) -> None:
    result = analyse(text, lexicon, NEGATIVE_BELOW, model())
    assert result.health_claims == ()
    assert result.negative == (result.positive < NEGATIVE_BELOW)


@pytest.mark.parametrize("text, warning", [
    ("刚收到医生朋友的通知，最近大家都不要吃青禾牛奶和青禾燕麦片，快告诉身边的朋友~", "不要吃青禾牛奶"),
    ("【提醒】请立即停止使用澄星电水壶！女儿说这个牌子的内胆有问题，转给家里人", "停止使用澄星电水壶"),
    ("千万别喝放在车里晒过的青禾牛奶，专家说的", "别喝放在车里晒过的青禾牛奶"),
])
def test_a_warning_not_to_eat_drink_or_use_the_watched_name_is_negative_and_says_so(
        lexicon: LexiconData, text: str, warning: str) -> None:
    """Warnings are written kindly ("快告诉身边的朋友~") and read positive; a warning about the watched name is a
    health claim about it all the same, and the evidence says which."""
    result = analyse(text, lexicon, NEGATIVE_BELOW, model())
    assert result.negative and warning in result.health_claims
    # none of them holds a category's term: the warning itself puts it in the health claims' category, where the
    # volume rules count it (CED brand event 1814, "各位最近都不要吃牛肉…感染了碳锥杆菌", sat in 其他)
    assert result.category == "人身安全/食品安全"


def test_a_warning_keeps_the_category_its_own_words_give(lexicon: LexiconData) -> None:
    result = analyse("大家别用澄星电水壶了，用了两天就漏水", lexicon, NEGATIVE_BELOW, model())
    assert "别用澄星电水壶" in result.health_claims and result.category == "产品质量"


@pytest.mark.parametrize("text", [
    "要不要吃青禾牛奶？大家觉得怎么样",  # a question
    "减肥期间不要吃宵夜，早餐换成青禾燕麦片就好",  # the warning is about something else
    "澄星电水壶做工特别用心，烧水很快",  # 别 of 特别
])
def test_no_warning_where_none_is_about_the_name(lexicon: LexiconData, text: str) -> None:
    result = analyse(text, lexicon, NEGATIVE_BELOW, model())
    assert result.health_claims == ()


def test_the_same_claim_without_a_watched_brand_is_left_to_the_model(lexicon: LexiconData) -> None:
    """The rule is about the brands we watch: a general health article keeps the model's reading."""
    text = "专家指出，长期食用含禁用农药的水果可致癌，香港已出台新规。"
    result = analyse(text, lexicon, NEGATIVE_BELOW, model())
    assert result.brand is None and result.health_claims == ()
    assert result.negative == (result.positive < NEGATIVE_BELOW)


@pytest.mark.parametrize("text", [
    "青禾燕麦片好吃到哭，笑死，一包根本不够吃",
    "澄星空气炸锅做的鸡翅香死了，死贵但是值",
    "木棉四件套太舒服了，躺上去就不想起来，爱死了",
])
def test_praise_with_dramatic_words_is_not_a_safety_crisis(lexicon: LexiconData, text: str) -> None:
    result = analyse(text, lexicon, NEGATIVE_BELOW, model())
    assert result.category != "人身安全/食品安全" and result.health_claims == ()
    assert not result.negative


@pytest.mark.parametrize("text", [
    "青禾官方辟谣：网传青禾牛奶致癌系谣言，检测报告显示一切合格，造谣者已被警方处理。",
    "网传澄星空气炸锅爆炸伤人，经核实消息不实，是假新闻，大家不要再转了。",
])
def test_a_debunk_is_not_negative(lexicon: LexiconData, text: str) -> None:
    result = analyse(text, lexicon, NEGATIVE_BELOW, model())
    assert result.debunk and not result.negative


def test_an_affirmed_story_is_not_a_debunk(lexicon: LexiconData) -> None:
    result = analyse("这不是谣言，青禾牛奶喝完全家拉肚子住院了，太可怕了！", lexicon, NEGATIVE_BELOW, model())
    assert not result.debunk and result.negative
    assert result.category == "人身安全/食品安全"


@pytest.mark.parametrize("text", [
    "同样在澄星旗舰店买澄星破壁机，老用户反而比新用户贵了两百，这就是大数据杀熟！",
    "青禾坚果礼盒双11先提价后打折，虚构原价，虚假折扣，典型的价格欺诈。",
])
def test_price_discrimination_gets_its_own_category(lexicon: LexiconData, text: str) -> None:
    assert analyse(text, lexicon, NEGATIVE_BELOW, model()).category == "价格欺诈/大数据杀熟"


def test_a_plain_price_rise_complaint_stays_in_the_older_price_category(lexicon: LexiconData) -> None:
    """先涨后降 alone is in both price categories; the earlier one, 价格/虚假宣传, keeps it (the demo's texts)."""
    assert categorise("刚买完就降价了，有点先涨后降的意思", lexicon) == "价格/虚假宣传"


def test_the_brief_names_the_health_claim_first() -> None:
    """An incident brief's 负面依据 (negative_evidence) starts with the claim that made the post negative."""
    from tasks.monitoring.sentiment_model import negative_evidence

    assert negative_evidence(NEWS_SCARES[0]).startswith("风险说法：")
    assert "致癌" in negative_evidence(NEWS_SCARES[0]).split("；")[0]
    assert not negative_evidence(COMPLAINT).startswith("风险说法")


def test_the_garbage_collector_runs_again_after_a_batch_even_a_failed_or_nested_one(lexicon: LexiconData) -> None:
    """A batch pauses the cyclic collector; a worker that ran one must not keep it off (its memory would grow)."""
    import gc

    from tasks.common import collector_paused

    assert gc.isenabled()
    analyse_many([COMPLAINT, PRAISE], lexicon, NEGATIVE_BELOW, model())
    assert gc.isenabled(), "on again after a batch"
    with collector_paused():  # the scan's row building around analyse_many, which pauses it too
        analyse_many([COMPLAINT], lexicon, NEGATIVE_BELOW, model())
        assert not gc.isenabled(), "the inner batch must not switch it on under the outer one"
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), collector_paused():
        1 / 0  # noqa: B018 - a failure inside the batch
    assert gc.isenabled(), "on again after a failed batch"


@pytest.mark.parametrize("text, category", [
    ("央视：恒天然被污染的奶粉流向国内，事关公共卫生安全", "人身安全/食品安全"),
    ("县里的污染企业又开工了，环境污染越来越严重", None),  # a bare 污染 is no food-safety term
    ("我的手机号被卖了，天天接推销电话", "个人信息泄露"),
    ("孩子在超市附近走失，她能说出爸爸的手机号码，求扩散", None),  # a number given is no leak
    ("据传运营商下月开始对聊天软件进行收费，包月10元", "价格/虚假宣传"),  # a new charge is a price matter
    ("会员年费乱收费，自动续费还变相收费", "价格/虚假宣传"),
    ("高速收费站堵了两个小时", None),  # a bare 收费 is none
    # scares that are not about food (the held-out CED brand events, benchmarks/ced_brands.py, were full of them)
    ("商场里一个孩子结账时不见了，后来在厕所找到，是人贩子干的", None),  # the place's story, not the shop's
    ("上门推销茶叶的人在茶里下了迷药", "人身安全/食品安全"),
    ("专家说这种取暖器辐射大，危害健康，家里有孩子的注意", "人身安全/食品安全"),
    ("手机在裤兜里突然爆炸，大腿二级烧伤", "人身安全/食品安全"),
    ("听说这个聊天软件下月起按条收费，收费标准每条五分", "价格/虚假宣传"),
    ("景区一碗面卖一百八，天价宰客", "价格/虚假宣传"),
    ("这家厂为了降低成本偷工减料", "产品质量"),
])
def test_the_shipped_lexicon_reads_contamination_a_taken_phone_number_a_new_charge_and_other_scares(
        lexicon: LexiconData, text: str, category: str | None) -> None:
    assert categorise(text, lexicon) == category


@pytest.mark.parametrize("text, category", [
    ("【爆炸消息】澄星空气炸锅下月起全线涨价，还要加收运费", "价格/虚假宣传"),  # breaking news, no explosion
    ("爆炸消息：澄星空气炸锅在用户家中爆炸，厨房全毁", "人身安全/食品安全"),  # the idiom and a real one
])
def test_an_idiom_holding_a_category_word_does_not_count_as_that_word(lexicon: LexiconData, text: str,
                                                                      category: str) -> None:
    assert analyse(text, lexicon, NEGATIVE_BELOW, model()).category == category


JIEBA_PROBE = """
import json, sys
import jieba
from tasks.monitoring.analysis import HAS_RJIEBA, analyse_many, load_user_dictionary, tokenize
from tasks.monitoring.sentiment_model import get_model
from tests.unit.conftest import shipped_lexicon

lexicon = shipped_lexicon()
first = analyse_many(["澄星空气炸锅用了两天就坏了"], lexicon, 0.4, get_model())[0]
loaded_by_scan = jieba.dt.initialized
load_user_dictionary(["木棉四件套新款"])  # a word added after the first batch
print(json.dumps({"rjieba": HAS_RJIEBA, "brand": first.brand, "loaded_by_scan": loaded_by_scan,
                  "jieba_tokens": tokenize("澄星空气炸锅和木棉四件套新款", "jieba")}))
"""


def test_a_scan_cutting_with_jieba_rs_never_loads_jiebas_dictionary_and_jieba_still_gets_every_word() -> None:
    """jieba loads its dictionary on the first word it is given (0.4-0.8 s of every scan process): a batch cut
    with jieba-rs must not pay it, and jieba, asked later (the model recipe, a brief's evidence), must cut with
    every word added before."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", JIEBA_PROBE], capture_output=True, text=True, cwd=root,
                            timeout=300, check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["rjieba"] and seen["brand"] == "澄星"
    assert seen["loaded_by_scan"] is False
    assert "澄星空气炸锅" in seen["jieba_tokens"] and "木棉四件套新款" in seen["jieba_tokens"]


def test_a_batch_collapses_whitespace_as_each_text_alone_also_around_a_nul_in_a_text() -> None:
    """The batch's whitespace is collapsed in one pass over its texts joined by NUL; a text holding NUL itself (a
    control character the reader did not scrub) must not shift the others."""
    lexicon = shipped_lexicon()
    texts = ["  澄星空气炸锅\t\n冒烟了  ", "a\0b   c", None, "", "麥當勞  的 薯條"]
    batch = analyse_many(texts, lexicon, NEGATIVE_BELOW, model())  # type: ignore[arg-type]
    alone = [analyse(t or "", lexicon, NEGATIVE_BELOW, model()) for t in texts]
    assert [a.content_hash for a in batch] == [a.content_hash for a in alone]
    assert normalise("  澄星空气炸锅\t\n冒烟了  ") == "澄星空气炸锅 冒烟了" and normalise("a\0b   c") == "a\0b c"
    assert normalise("麥當勞  的 薯條") == "麦当劳 的 薯条"
    assert len(batch) == 5 and batch[1].content_hash != batch[0].content_hash
