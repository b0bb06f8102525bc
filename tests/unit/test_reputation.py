"""Reputation indicators on a small known dataset, against values worked out by hand; the weekly report's
sentences and charts (Chinese labels, a CJK font)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from tasks.reputation.chart import chart_font, series_of, trend_figure
from tasks.reputation.indicators import BrandInfo, compute_rows
from tasks.reputation.report import BadWeek, ReportData, last_full_week, parse_week, render_report, weekly

ZONE = "Asia/Shanghai"
DAY = date(2026, 11, 26)
BRANDS = {"澄星": BrandInfo(False, "厨房电器"), "焰峰": BrandInfo(True, "厨房电器"), "青禾": BrandInfo(False, "食品饮料")}


def _mention(brand: str, at: str, negative: bool, sentiment: float, category: str | None = None) -> dict[str, object]:
    return {"brand": brand, "published_at": at, "negative": int(negative), "sentiment": sentiment, "category": category,
            "text": None}


MENTIONS = pd.DataFrame([
    # 澄星: 2 negative, 1 positive, 1 neutral; the first is 00:10 on the 26th in Beijing (16:10 UTC the day before)
    _mention("澄星", "2026-11-25 16:10:00.000000", True, 0.1, "产品质量"),
    _mention("澄星", "2026-11-26 03:00:00.000000", True, 0.2, "产品质量"),
    _mention("澄星", "2026-11-26 04:00:00.000000", False, 0.9),
    _mention("澄星", "2026-11-26 05:00:00.000000", False, 0.55),
    _mention("澄星", "2026-11-25 15:30:00.000000", True, 0.1, "人身安全"),  # 23:30 on the 25th: another day
    # 焰峰 (rival): 1 negative, 3 positive, 2 neutral
    _mention("焰峰", "2026-11-26 02:00:00.000000", True, 0.1, "人身安全"),
    *(_mention("焰峰", f"2026-11-26 0{h}:00:00.000000", False, 0.8) for h in (3, 4, 5)),
    *(_mention("焰峰", f"2026-11-26 0{h}:00:00.000000", False, 0.5) for h in (6, 7)),
    # 青禾 alone in its category
    *(_mention("青禾", "2026-11-26 08:00:00.000000", False, 0.95) for _ in range(2)),
])


def _posts() -> pd.DataFrame:
    rows = [("2026-11-26 02:00:00", "漏电 冒烟 客服 质量 澄星空气炸锅")] * 3 + [("2026-11-26 03:00:00", "漏电 的 退款"),
                                                                     ("2026-11-26 04:00:00", "退款")]
    rows += [("2026-11-23 02:00:00", "客服")] * 7  # 3 days before: a mean of 1 a day over the 7
    rows += [("2026-11-25 02:00:00", "质量")] * 14  # the day before: a mean of 2 a day
    rows += [("2026-11-18 02:00:00", "冒烟")] * 14  # 8 days before: outside the 7-day baseline
    return pd.DataFrame([{"brand": "木棉优选", "published_at": at, "negative": 1, "sentiment": 0.1, "category": None,
                          "text": text} for at, text in rows])


INCIDENTS = pd.DataFrame([
    {"id": 1, "brand": "澄星", "opened_at": pd.Timestamp("2026-11-26 02:00", tz="UTC"), "ended_at": pd.NaT, "heat": 40.0},
    {"id": 2, "brand": "澄星", "opened_at": pd.Timestamp("2026-11-26 01:00", tz="UTC"),
     "ended_at": pd.Timestamp("2026-11-26 10:00", tz="UTC"), "heat": 90.0},  # resolved before the day ends
])
METRICS = pd.DataFrame([
    {"incident_id": 1, "window_end": pd.Timestamp("2026-11-26 04:00", tz="UTC"), "heat": 55.0},
    {"incident_id": 1, "window_end": pd.Timestamp("2026-11-27 02:00", tz="UTC"), "heat": 80.0},  # the next day
])


def _rows() -> dict[str, dict[str, object]]:
    mentions = pd.concat([MENTIONS, _posts()], ignore_index=True)
    rows = compute_rows(mentions, INCIDENTS, METRICS, [DAY], BRANDS, ["澄星空气炸锅"], str.split, ZONE)
    return {str(r["brand"]): r for r in rows}


def test_counts_shares_and_share_of_voice_equal_the_hand_computed_values() -> None:
    rows = _rows()
    ours, rival, food = rows["澄星"], rows["焰峰"], rows["青禾"]
    assert (ours["volume"], ours["negative"], ours["positive"]) == (4, 2, 1)
    assert ours["negative_share"] == 0.5 and ours["net_sentiment"] == -0.25
    assert rival["competitor"] is True and (rival["volume"], rival["negative"], rival["positive"]) == (6, 1, 3)
    assert rival["negative_share"] == pytest.approx(1 / 6, abs=1e-6)
    assert rival["net_sentiment"] == pytest.approx(2 / 6, abs=1e-6)
    assert ours["share_of_voice"] == 0.4 and rival["share_of_voice"] == 0.6, "within 厨房电器: 4 and 6 of 10"
    assert food["share_of_voice"] == 1.0 and food["net_sentiment"] == 1.0
    assert ours["top_categories"] == [["产品质量", 2]] and rival["top_categories"] == [["人身安全", 1]]
    assert all(r["day"] == "2026-11-26" for r in rows.values())


def test_rising_terms_against_the_previous_seven_days() -> None:
    ours = _rows()["木棉优选"]
    # 漏电 4 and 冒烟 3 are new (冒烟's burst 8 days ago is outside the baseline); 客服 3 against a mean of 1;
    # 质量 3 is not twice its mean of 2; 退款 2 is too few; 的 is a stopword; the product name is never a term.
    assert ours["rising_terms"] == [["漏电", 4, 0.0], ["冒烟", 3, 0.0], ["客服", 3, 1.0]]
    assert _rows()["焰峰"]["rising_terms"] == []


def test_open_incidents_and_their_heat_at_the_end_of_the_day() -> None:
    ours = _rows()["澄星"]
    assert (ours["open_incidents"], ours["incident_heat"]) == (1, 55.0)
    assert (_rows()["焰峰"]["open_incidents"], _rows()["焰峰"]["incident_heat"]) == (0, 0.0)


def test_weeks_are_iso_weeks() -> None:
    assert parse_week("2026-W48") == date(2026, 11, 23)
    assert last_full_week(date(2026, 11, 30)) == date(2026, 11, 23), "on Monday: the week that just ended"
    with pytest.raises(BadWeek, match="2026-W48"):
        parse_week("2026-48")


def test_weekly_share_of_voice_is_over_the_week() -> None:
    frame = pd.DataFrame([
        {"day": "2026-11-23", "brand": "澄星", "competitor": False, "product_category": "厨房电器", "volume": 10,
         "negative": 5, "positive": 0},
        {"day": "2026-11-24", "brand": "澄星", "competitor": False, "product_category": "厨房电器", "volume": 20,
         "negative": 1, "positive": 0},
        {"day": "2026-11-24", "brand": "焰峰", "competitor": True, "product_category": "厨房电器", "volume": 10,
         "negative": 0, "positive": 10},
    ])
    week = weekly(frame).set_index("brand")
    assert week.loc["澄星", "share_of_voice"] == 0.75 and week.loc["澄星", "negative_share"] == 0.2
    assert week.loc["焰峰", "net_sentiment"] == 1.0


def test_trend_chart_is_labelled_in_chinese_with_a_cjk_font() -> None:
    frame = pd.DataFrame([{"day": d, "brand": b, "volume": v, "negative_share": 0.1, "share_of_voice": 0.5}
                          for d in ("2026-11-23", "2026-11-24") for b, v in (("澄星", 3), ("焰峰", 4))])
    figure = trend_figure("近 7 日趋势（2026-W48）", ["11-23", "11-24"],
                          series_of(frame, "day", ["2026-11-23", "2026-11-24"]), ["焰峰"])
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ["声量（条）", "负面占比", "品类内声量份额"]
    assert {axis.title.get_fontname() for axis in figure.axes} == {"WenQuanYi Zen Hei"}, "fonts-wqy-zenhei"
    assert {axis.title.get_fontproperties().get_file() for axis in figure.axes} == {chart_font().get_file()}
    legend = figure.legends[0].get_texts()
    assert [t.get_text() for t in legend] == ["澄星", "焰峰（竞品）"]
    assert {t.get_fontname() for t in legend} == {"WenQuanYi Zen Hei"}
    assert figure._suptitle.get_text() == "近 7 日趋势（2026-W48）"


def test_the_report_escapes_terms_taken_from_posts() -> None:
    day = {"day": "2026-11-24", "brand": "澄星", "competitor": False, "product_category": "厨房电器", "volume": 9,
           "negative": 6, "positive": 1, "negative_share": 6 / 9, "net_sentiment": -5 / 9, "share_of_voice": 1.0,
           "open_incidents": 0, "top_categories": [["产品质量", 6]],
           "rising_terms": [["[点我](https://evil.example)", 6, 0.0]]}
    frame = pd.DataFrame([day])
    text = render_report(ReportData("2026-W48", date(2026, 11, 23), weekly(frame), frame))
    assert "(https://" not in text and "\\[点我\\](https\\[:\\]//evil.example)" in text, "no link, the URL inert"
    assert "\\[点我\\]" in text
    assert "负面讨论上升最快的词是「\\[点我\\]" in text and "前 7 日日均 0 条" in text
    assert "本周我方品牌共被提及 9 次（上周 0 次，—），负面占比 66.7%，上周无提及，无从比较。" in text
