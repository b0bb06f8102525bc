"""The rumour signal (tasks/triage/rumour.py), the 辟谣 section of the brief and its draft statement, and the
report's count of incidents that were no crisis: all pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tasks.aftercare.report import IncidentFacts, summarise
from tasks.incidents.state import IncidentState, can_dismiss
from tasks.triage.brief import BriefData, render_brief, split_command
from tasks.triage.debunk import render_debunk_statement
from tasks.triage.rumour import Post, RumourRules, assess, listed_items
from tests.unit.conftest import CONFIG, read_toml

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
BRANDS = ["澄星", "青禾", "木棉优选"]
LIST_POST = ("【紧急扩散】问题食品名单！以下品牌检出致癌物：澄星、青禾、悦川、果滋、麦香园、鲜语、农乐、百味、稻香村、康源，"
             "家里有的赶紧扔掉，求扩散！")
COMPLAINT = ("澄星空气炸锅用了三天就冒烟，订单号 202611201234567，照片 https://img.example/p/1.jpg ，"
             "客服一直推诿，求处理")
HEARSAY = "网传澄星空气炸锅会爆炸，听说已经有人受伤了，速转"


def posts(text: str, n: int, start: datetime = T0, debunk: bool = False) -> list[Post]:
    return [Post(text, debunk, start + timedelta(minutes=i)) for i in range(n)]


def flags(spread: list[Post]) -> list[bool]:
    """The brand's posts as the task hands them over: whether each debunks, in time order."""
    return [p.debunk for p in sorted(spread, key=lambda p: p.published_at)]


def test_a_forwarded_list_of_many_brands_with_a_spread_call_and_no_source_is_a_possible_rumour() -> None:
    verdict = assess(posts(LIST_POST, 3), flags(posts(LIST_POST, 20)), BRANDS)
    assert verdict.possible and not verdict.substantiated
    assert verdict.reason.startswith("疑似谣言：")
    assert "源头为转发清单帖（列出 10 个品牌）" in verdict.reason
    assert "“求扩散”" in verdict.reason and "“紧急扩散”" in verdict.reason
    assert "无信息来源" in verdict.reason


def test_a_first_hand_complaint_with_a_photo_link_and_an_order_number_is_not() -> None:
    verdict = assess(posts(COMPLAINT, 5), flags(posts(COMPLAINT, 30)), BRANDS)
    assert not verdict.possible and verdict.substantiated
    assert "疑似谣言" not in verdict.reason


def test_a_rising_debunking_share_is_a_signal_and_the_reason_gives_it() -> None:
    claim = "网传澄星空气炸锅会爆炸"
    quiet = assess(posts(claim, 3), flags(posts(claim, 40)), BRANDS)
    assert not quiet.possible and quiet.reason == "无信息来源（“网传”）", "one signal is not enough"
    spread = posts(claim, 20) + posts("澄星空气炸锅爆炸是谣言，官方已辟谣", 6, T0 + timedelta(hours=1), debunk=True) \
        + posts(claim, 14, T0 + timedelta(hours=2))
    verdict = assess(posts(claim, 3), flags(spread), BRANDS)
    assert verdict.possible
    assert verdict.reason == "疑似谣言：无信息来源（“网传”）；辟谣帖占比 30%（此前 0%）"


def test_the_brands_posts_are_read_only_when_the_debunking_share_can_decide() -> None:
    """flag_rumours hands over a function reading every post of the brand since the incident started (it grows
    with the incident): a complaint, or an origin two signals short, never calls it; one signal short, it does,
    and the rising share marks the rumour as with the flags given."""
    claim = "网传澄星空气炸锅会爆炸"
    rising = posts(claim, 20) + posts("澄星空气炸锅爆炸是谣言，官方已辟谣", 6, T0 + timedelta(hours=1), debunk=True) \
        + posts(claim, 14, T0 + timedelta(hours=2))
    reads: list[int] = []

    def reader(spread: list[Post]) -> Callable[[], list[bool]]:
        def read() -> list[bool]:
            reads.append(len(spread))
            return [p.debunk for p in spread]
        return read

    assert not assess(posts(COMPLAINT, 3), reader(rising), BRANDS).possible  # first-hand evidence: substantiated
    assert not assess(posts("澄星空气炸锅用了三天就坏了", 3), reader(rising), BRANDS).possible  # no signal at all
    assert reads == []
    verdict = assess(posts(claim, 3), reader(rising), BRANDS)
    assert reads == [40] and verdict == assess(posts(claim, 3), flags(rising), BRANDS)
    assert verdict.reason == "疑似谣言：无信息来源（“网传”）；辟谣帖占比 30%（此前 0%）"


def test_hearsay_with_a_call_to_spread_it_is_a_possible_rumour() -> None:
    verdict = assess(posts(HEARSAY, 3), flags(posts(HEARSAY, 20)), BRANDS)
    assert verdict.possible and verdict.reason == "疑似谣言：含“速转”、无信息来源（“网传”“听说”）"


def test_a_falling_debunking_share_is_no_signal() -> None:
    spread = posts("澄星是谣言", 5, debunk=True) + posts(HEARSAY, 15, T0 + timedelta(hours=1))
    assert "辟谣" not in assess(posts("网传澄星空气炸锅会爆炸", 3), flags(spread), BRANDS).reason


def test_one_signal_is_not_enough_and_the_threshold_is_a_rule() -> None:
    origin = posts("听说澄星空气炸锅有问题", 3)
    assert not assess(origin, flags(origin), BRANDS).possible
    assert assess(origin, flags(origin), BRANDS, RumourRules(min_signals=1)).possible


def test_naming_an_authority_is_a_source() -> None:
    text = "据说市场监管局通报了澄星空气炸锅抽检不合格，求扩散"
    verdict = assess(posts(text, 3), flags(posts(text, 10)), BRANDS)
    assert "无信息来源" not in verdict.reason and not verdict.possible


@pytest.mark.parametrize("text, items", [
    (LIST_POST, 10),
    ("黑名单如下：1. 甲牌奶粉 2. 乙牌奶粉 3. 丙牌奶粉 4. 丁牌奶粉 5. 戊牌奶粉", 5),
    ("澄星和青禾都不错，木棉优选也行", 3),
    ("澄星空气炸锅坏了", 1),
])
def test_listed_items(text: str, items: int) -> None:
    assert listed_items(text, BRANDS) == items


def test_only_an_active_incident_may_be_dismissed() -> None:
    active = {IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.RESPONDING, IncidentState.MONITORING}
    assert {s for s in IncidentState if can_dismiss(s)} == active


def _brief(**changes: object) -> str:
    data = dict(key="INC-20261120-001", brand="澄星", category="产品质量", level="III", level_name="较大",
                state="open", heat=40.0, reason="短期突增", detected="2026-11-20 10:00", owner="未确认",
                hourly_negative=[0, 1, 5], hour_labels=["10时", "11时", "12时"], top_posts=["帖子"],
                level_steps=["定级"], playbook=["核实"])
    return render_brief(BriefData(**{**data, **changes}))  # type: ignore[arg-type]


def test_the_brief_of_a_possible_rumour_shows_the_debunk_path_and_the_draft() -> None:
    steps = read_toml("playbooks.toml")["debunk"]["steps"]
    statement = render_debunk_statement(CONFIG / "templates", brand="澄星", claim="澄星空气炸锅会爆炸",
                                        today="2026年11月20日")
    brief = _brief(rumour="疑似谣言：含“求扩散”", debunk_steps=steps, debunk_statement=statement)
    assert "## 辟谣（疑似谣言）" in brief and "**疑似谣言：含“求扩散”**" in brief
    assert any("核实" in s for s in steps) and any("辟谣声明" in s and "检测报告" in s for s in steps)
    assert any("辟谣标注" in s for s in steps)
    assert all(f"- [ ] {split_command(s)[0]}" in brief for s in steps), "each step, its command apart"
    assert "- `crisis close INC-20261120-001 --as unfounded --reason …`" in brief
    assert "> **关于网传“澄星空气炸锅会爆炸”的说明**" in brief and "> 2026年11月20日" in brief
    assert "辟谣" not in _brief()


def test_the_draft_statement_is_filled_and_leaves_nothing_blank() -> None:
    text = render_debunk_statement(CONFIG / "templates", brand="青禾", claim="青禾牛奶致癌", today="2026年11月21日")
    assert text.startswith("**关于网传“青禾牛奶致癌”的说明**")
    assert "青禾高度重视" in text and text.rstrip().endswith("2026年11月21日")
    with pytest.raises(Exception, match="today"):
        from jinja2 import Environment, FileSystemLoader, StrictUndefined

        Environment(loader=FileSystemLoader(str(CONFIG / "templates")), undefined=StrictUndefined) \
            .get_template("debunk_statement.md.j2").render(brand="青禾", claim="x")


def _facts(level: str, resolution: str | None = None, ttr: float | None = 600.0, rules: tuple[str, ...] = (),
           fen: int = 0) -> IncidentFacts:
    return IncidentFacts(level, "产品质量", False, {"TTD": 10.0, "TTA": 20.0, "TTR": ttr}, fen, 1 if fen else 0,
                         resolution, rules)


def test_the_report_counts_rumours_and_false_alarms_apart_from_the_crises() -> None:
    crisis = _facts("III", ttr=600.0, fen=2000)
    rumour = _facts("III", "unfounded", ttr=None, fen=500)
    alarms = [_facts("IV", "false_alarm", ttr=None, rules=("short_spike",)),
              _facts("III", "false_alarm", ttr=None, rules=("short_spike", "influencer"))]
    report = summarise([crisis, rumour, *alarms])
    assert report.incidents == 1 and report.by_level == {"III": 1} and report.by_category == {"产品质量": 1}
    assert report.medians == {"III": {"TTD": 10.0, "TTA": 20.0, "TTR": 600.0}}
    assert (report.unfounded, report.false_alarms) == (1, 2)
    assert report.false_alarm_rules == {"short_spike": 2, "influencer": 1}
    assert report.rule_outcomes == {"short_spike": {"crisis": 0, "unfounded": 0, "false_alarm": 2},
                                    "influencer": {"crisis": 0, "unfounded": 0, "false_alarm": 1}}
    by_rule = summarise([_facts("II", rules=("viral_post",)), _facts("III", "unfounded", ttr=None, rules=("viral_post",)),
                         *alarms, _facts("III", rules=("short_spike",))]).rule_outcomes
    assert list(by_rule) == ["short_spike", "influencer", "viral_post"], "the rule with the most false alarms first"
    assert by_rule["short_spike"] == {"crisis": 1, "unfounded": 0, "false_alarm": 2}
    assert by_rule["viral_post"] == {"crisis": 1, "unfounded": 1, "false_alarm": 0}
    assert report.compensation_fen == 2500, "money paid counts whatever the incident turned out to be"


def test_a_call_to_pass_an_unsourced_warning_on_is_a_possible_rumour() -> None:
    """How real Weibo rumours ask for reposts (帮忙转一下, 互相转告): a call plus no source is two signals."""
    warning = "澄星空气炸锅用久了会爆炸，家里有的赶紧别用了！大家帮忙转一下，互相转告"
    verdict = assess(posts(warning, 3), flags(posts(warning, 20)), BRANDS)
    assert verdict.possible and verdict.reason == "疑似谣言：含“互相转告”“帮忙转”、无信息来源"
    sourced = warning + " 市场监管局通报：https://example.gov/notice/1"
    assert not assess(posts(sourced, 3), flags(posts(sourced, 20)), BRANDS).possible


def test_a_plain_repost_and_a_giveaway_are_no_call_to_spread() -> None:
    for text in ("转发微博", "转发本微博并关注，抽三位送澄星空气炸锅"):
        verdict = assess(posts(text, 5), flags(posts(text, 20)), BRANDS)
        assert not verdict.possible and verdict.reason == "", text
