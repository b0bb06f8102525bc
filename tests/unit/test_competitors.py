"""Competitors in the lexicon and the early warning's policy (同类风险预警): a rival is matched after our brands,
the batch analysis agrees with each text alone, rival names never retrain the sentiment model, a rival named as
ours is refused in one line; who is told, what the group robots say, the board row, all escaped."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.files import Channel, clear_caches, load_lexicon, load_roster
from config.settings import SettingsError
from tasks.notify.templates import render_mail
from tasks.triage.brief import RULE_SENTENCES
from tasks.triage.warning import (
    BOARD_COLUMNS,
    QUESTION,
    CompetitorWarning,
    board_row,
    people_to_warn,
    robot_body,
    robot_markdown,
    robots_to_warn,
)
from tests.unit.conftest import CONFIG

HOSTILE = "网传[点我](https://evil.example/x) <script>alert(1)</script> 联系 a@b.example"
WARNING = CompetitorWarning(
    competitor="焰峰", product_category="厨房电器", category="人身安全/食品安全", day="2026-11-20",
    products=("焰峰空气炸锅",), rule="critical_terms", reason=f"关键风险词：「焰峰」3 条负面提及含 起火×3；{HOSTILE}",
    heat=61.2, our_products=("澄星空气炸锅", "澄星电水壶"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@functools.cache
def _lexicon():  # type: ignore[no-untyped-def]
    from tasks.monitoring.analysis import load_user_dictionary
    from tasks.monitoring.lexicon import lexicon_data

    data = lexicon_data()
    load_user_dictionary(data.dictionary_words())
    return data


def test_our_brand_comes_first_and_the_rival_goes_along() -> None:
    from tasks.monitoring.analysis import match_brands, tokenize

    lexicon = _lexicon()
    assert match_brands("焰峰空气炸锅用着用着突然起火", lexicon) == [("焰峰", "焰峰空气炸锅")]
    assert match_brands("焰峰电器比澄星贵", lexicon) == [("澄星", None), ("焰峰", None)]
    assert match_brands("澄星空气炸锅和焰峰空气炸锅比哪个好", lexicon) == [("澄星", "澄星空气炸锅"), ("焰峰", "焰峰空气炸锅")]
    assert "焰峰空气炸锅" in tokenize("焰峰空气炸锅冒烟了"), "rival names are in jieba's user dictionary"


def test_the_batch_gives_each_rival_post_what_it_gives_alone() -> None:
    """The fast path (one Aho-Corasick pass per batch) and the per-text functions agree on rival posts."""
    from tasks.monitoring.analysis import analyse_many, categorise, match_brands, normalise
    from tasks.monitoring.sentiment_model import get_model
    from tasks.scenario.week import generate_scenario

    scenario = generate_scenario(3, datetime(2026, 11, 20, 12, tzinfo=UTC), days=5, rivals=True)
    texts = [str(m["text"]) for m in scenario.mentions if "焰峰" in str(m["text"])][:300]
    texts += ["焰峰电器比澄星贵", "澄星空气炸锅和焰峰电饭煲都冒烟了", "焰峰空气炸锅被曝致癌，检出禁用农药"]
    assert len(texts) > 100
    lexicon = _lexicon()
    for text, got in zip(texts, analyse_many(texts, lexicon, 0.4, get_model()), strict=True):
        named = match_brands(normalise(text), lexicon)
        assert (got.brand, got.product) == named[0] and got.also == tuple(named[1:]), text
        assert got.category == categorise(normalise(text), lexicon), text
    assert any(a.brand == "焰峰" and a.negative and a.category for a in analyse_many(texts, lexicon, 0.4, get_model()))


@pytest.fixture
def config_copy(clean_settings: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy)
    clean_settings.setenv("CRISIS_CONFIG_DIR", str(copy))
    clear_caches()
    return copy


def test_rival_names_never_retrain_the_sentiment_model(config_copy: Path) -> None:
    from tasks.monitoring.sentiment_model import default_model_path

    before = default_model_path().name
    lexicon = config_copy / "lexicon.toml"
    _edit(lexicon, 'products = ["焰峰空气炸锅", "焰峰电饭煲"]', 'products = ["焰峰空气炸锅", "焰峰电饭煲", "焰峰破壁机"]')
    _edit(lexicon, "# Categories are tried in this order",
          '[competitors."晨光"]\naliases = ["晨光"]\nproducts = ["晨光牛奶"]\ncategory = "食品饮料"\n\n'
          "# Categories are tried in this order")
    clear_caches()
    assert "晨光" in load_lexicon().competitors and default_model_path().name == before


def test_a_competitor_named_as_one_of_ours_is_refused_in_one_line(config_copy: Path) -> None:
    _edit(config_copy / "lexicon.toml", 'aliases = ["焰峰", "焰峰电器"]', 'aliases = ["焰峰", "澄星电器"]')
    clear_caches()
    with pytest.raises(SettingsError) as refused:
        load_lexicon()
    message = str(refused.value)
    assert "\n" not in message and "lexicon.toml" in message
    assert "competitors.焰峰" in message and "澄星电器" in message


def test_the_pr_lead_and_the_owners_of_the_category_are_told() -> None:
    roster = load_roster()
    assert [p.name for p in people_to_warn(roster, "厨房电器")] == ["李娜", "林涛"]
    assert [p.name for p in people_to_warn(roster, "家纺")] == ["李娜"], "nobody owns our textiles' warning but PR"


def test_only_the_groups_of_the_people_told_get_the_robot_message() -> None:
    pr = Channel(kind="wecom", url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send", roles=["commander", "pr"],
                 key_env="WECOM_KEY")
    legal = Channel(kind="dingtalk", url="https://oapi.dingtalk.com/robot/send", roles=["legal"],
                    key_env="DING_KEY", secret_env="DING_SECRET")
    roster = load_roster().model_copy(update={"channels": {"pr_group": pr, "legal_group": legal}})
    assert [name for name, _ in robots_to_warn(roster, people_to_warn(roster, "厨房电器"))] == ["pr_group"]
    body = robot_body("wecom", WARNING)
    assert body["msgtype"] == "markdown" and QUESTION in body["markdown"]["content"]
    assert robot_body("feishu", WARNING)["card"]["header"]["template"] == "orange"


def test_post_text_in_the_reason_is_shown_inert_and_escaped() -> None:
    markdown = robot_markdown(WARNING)
    assert "[点我](https://" not in markdown and r"\[点我\](https\[:\]//evil" in markdown
    assert "<script>" not in markdown and r"a\[@\]b.example" in markdown
    row = board_row(WARNING, [("li.na@shop.example", "sent"), ("wecom:pr_group", "pending")],
                    {"li.na@shop.example": "李娜"})
    assert tuple(row) == BOARD_COLUMNS == ("竞品", "类别", "日期", "涉及产品", "触发规则/原因", "热度", "已通知")
    assert row["已通知"] == "李娜、群 pr_group（已发送 1/2）"
    assert "https[:]//evil" in str(row["触发规则/原因"])
    assert str(row["触发规则/原因"]).startswith("关键风险词：「焰峰」3 条负面提及含 起火×3")
    assert RULE_SENTENCES["critical_terms"] in robot_markdown(WARNING)


def test_the_mail_is_chinese_escaped_and_names_no_incident_of_ours() -> None:
    context = {"competitor": "焰峰", "product_category": "厨房电器", "category": "人身安全/食品安全",
               "day": "2026-11-20", "heat": 61.2, "products": "焰峰空气炸锅", "rule": "负面帖子出现关键风险词",
               "reason": WARNING.reason, "our_products": "澄星空气炸锅", "question": QUESTION,
               "detected_at": "2026-11-20 11:30", "board_url": "http://127.0.0.1:4200/artifacts/key/competitor-board",
               "posts": [{"platform": "微博", "author": "路人", "reach": "1,200", "text": HOSTILE, "link": ""}],
               "sender_name": "舆情应急系统", "greeting": "李娜（公关专员）您好："}
    mail = render_mail("competitor_alert", context, CONFIG / "templates")
    assert mail.subject == "【同类风险预警】竞品焰峰「人身安全/食品安全」（厨房电器）2026-11-20"
    assert QUESTION in mail.text and "澄星空气炸锅" in mail.text and "https[:]//evil" in mail.text
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html and 'href="https://evil' not in mail.html
    assert "INC-" not in mail.subject + mail.text + mail.html
