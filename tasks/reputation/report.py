"""The weekly 声誉报告 and the daily reputation-board, from stored indicator rows. Pure: frames in, text out.

Every sentence under 本周变化 is built from the numbers below it; untrusted text (terms from posts, brand
names from files) is escaped for markdown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from tasks.errors import CrisisError
from tasks.notify.templates import markdown_cell

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
COLUMNS = ("volume", "negative", "positive")


class BadWeek(CrisisError):
    """A week is not written as an ISO week (2026-W48)."""


@dataclass(frozen=True)
class IncidentLine:
    key: str
    brand: str
    category: str
    level: str
    state: str  # in Chinese
    heat: float
    detected: str


@dataclass(frozen=True)
class ReportData:
    week: str
    monday: date
    weeks: pd.DataFrame  # weekly(): week, brand, competitor, product_category, volume, shares …
    days: pd.DataFrame  # stored daily rows of the report's week
    incidents: Sequence[IncidentLine] = ()
    opened: int = 0  # incidents detected in the week
    charts: Sequence[tuple[str, str]] = field(default_factory=list)  # (title, file name)


def parse_week(text: str) -> date:
    """Return the Monday of an ISO week written 2026-W48."""
    match = _WEEK.match(text.strip())
    try:
        if match:
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        pass
    raise BadWeek(f"周次 {text!r} 无效：请写成 ISO 周，例如 2026-W48")


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def last_full_week(today: date) -> date:
    """Return the Monday of the week before the one `today` is in (on Monday: the week that just ended)."""
    return today - timedelta(days=today.weekday() + 7)


def weekly(frame: pd.DataFrame) -> pd.DataFrame:
    """Sum stored daily rows into ISO weeks per brand: volume, negative, positive, negative share, net sentiment
    and share of voice (the brand's weekly volume over its product category's)."""
    days = pd.to_datetime(frame["day"])
    monday = (days - pd.to_timedelta(days.dt.weekday, unit="D")).dt.date
    grouped = (frame.assign(week=monday).groupby(["week", "brand"], as_index=False)
               .agg(competitor=("competitor", "max"), product_category=("product_category", "last"),
                    volume=("volume", "sum"), negative=("negative", "sum"), positive=("positive", "sum")))
    volume = grouped["volume"].where(grouped["volume"] > 0)
    grouped["negative_share"] = (grouped["negative"] / volume).fillna(0.0)
    grouped["net_sentiment"] = ((grouped["positive"] - grouped["negative"]) / volume).fillna(0.0)
    total = grouped.groupby([grouped["week"], grouped["product_category"].fillna("\0")])["volume"].transform("sum")
    grouped["share_of_voice"] = (grouped["volume"] / total.where(total > 0)).fillna(0.0)
    return grouped


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _delta_pct(now: float, before: float) -> str:
    return "—" if before == 0 else f"{(now - before) / before:+.0%}"


def _delta_points(now: float, before: float) -> str:
    return f"{(now - before) * 100:+.1f} 个百分点"


def board_rows(today: pd.DataFrame, week_ago: pd.DataFrame) -> list[dict[str, object]]:
    """Return the reputation-board rows of a day: ours first, then rivals (竞品), against the same day last week."""
    before = week_ago.set_index("brand") if not week_ago.empty else pd.DataFrame()
    rows = []
    for row in today.sort_values(["competitor", "brand"]).itertuples(index=False):
        old = before.loc[row.brand] if row.brand in before.index and before.loc[row.brand, "volume"] else None
        rows.append({
            "品牌": markdown_cell(row.brand), "类型": "竞品" if row.competitor else "本品牌",
            "品类": markdown_cell(row.product_category or "—"), "声量": int(row.volume),
            "声量较上周": "—" if old is None else _delta_pct(row.volume, old["volume"]),
            "负面占比": _pct(row.negative_share),
            "负面占比较上周": "—" if old is None else _delta_points(row.negative_share, old["negative_share"]),
            "声量份额": _pct(row.share_of_voice), "未结事件": int(row.open_incidents)})
    return rows


def _ours(week: pd.DataFrame) -> pd.DataFrame:
    return week[~week["competitor"].astype(bool)]


def changes(this: pd.DataFrame, last: pd.DataFrame, days: pd.DataFrame, opened: int, still_open: int) -> list[str]:
    """Return what changed since last week in three sentences, each from the numbers of the two weeks."""
    ours, ours_before = _ours(this), _ours(last)
    volume, before = int(ours["volume"].sum()), int(ours_before["volume"].sum())
    share = ours["negative"].sum() / volume if volume else 0.0
    share_before = ours_before["negative"].sum() / before if before else 0.0
    moved = f"较上周 {_delta_points(share, share_before)}" if before else "上周无提及，无从比较"
    first = (f"本周我方品牌共被提及 {volume:,} 次（上周 {before:,} 次，{_delta_pct(volume, before)}），负面占比 "
             f"{_pct(share)}，{moved}。")
    return [first, _voice_sentence(this, last), _incident_sentence(days, opened, still_open)]


def _voice_sentence(this: pd.DataFrame, last: pd.DataFrame) -> str:
    """The brand of ours whose share of voice moved most, against the rivals in its product category."""
    old = last.set_index("brand")["share_of_voice"] if not last.empty else pd.Series(dtype=float)
    best: tuple[float, str] | None = None
    for row in _ours(this).itertuples(index=False):
        rivals = this[this["competitor"].astype(bool) & (this["product_category"] == row.product_category)]
        if rivals.empty:
            continue
        moved = abs(row.share_of_voice - float(old.get(row.brand, 0.0)))
        against = "、".join(f"竞品{markdown_cell(r.brand)} {_pct(r.share_of_voice)}（负面占比 {_pct(r.negative_share)}）"
                           for r in rivals.itertuples(index=False))
        text = (f"{markdown_cell(row.brand)}在「{markdown_cell(row.product_category)}」品类的声量份额为 "
                f"{_pct(row.share_of_voice)}（上周 {_pct(float(old.get(row.brand, 0.0)))}），{against}。")
        if best is None or moved > best[0]:
            best = (moved, text)
    return best[1] if best else "本周我方品牌所在品类没有竞品数据，无法比较声量份额。"


def _incident_sentence(days: pd.DataFrame, opened: int, still_open: int) -> str:
    terms = [(t[1] - t[2], t[1], str(t[0]), row.brand, row.day) for row in days.itertuples(index=False)
             for t in row.rising_terms]
    head = f"本周新发现舆情事件 {opened} 起，周末仍未结束 {still_open} 起；"
    if not terms:
        return head + "负面讨论中没有明显上升的词。"
    _, count, term, brand, day = max(terms, key=lambda t: (t[0], t[1], t[2]))
    mean = next(t[2] for t in days[(days["brand"] == brand) & (days["day"] == day)].iloc[0]["rising_terms"]
                if t[0] == term)
    return (head + f"负面讨论上升最快的词是「{markdown_cell(term)}」（{markdown_cell(brand)}，{day} 当日 {count} 条，"
            f"前 7 日日均 {mean:g} 条）。")


def _brand_table(this: pd.DataFrame, last: pd.DataFrame) -> list[str]:
    old = last.set_index("brand") if not last.empty else pd.DataFrame()
    lines = ["| 品牌 | 类型 | 品类 | 声量 | 较上周 | 负面占比 | 较上周 | 净情感 | 声量份额 |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in this.sort_values(["competitor", "brand"]).itertuples(index=False):
        o = old.loc[r.brand] if r.brand in old.index and old.loc[r.brand, "volume"] else None
        lines.append(
            f"| {markdown_cell(r.brand)} | {'竞品' if r.competitor else '本品牌'} | {markdown_cell(r.product_category or '—')} "
            f"| {int(r.volume):,} | {'—' if o is None else _delta_pct(r.volume, o['volume'])} | {_pct(r.negative_share)} "
            f"| {'—' if o is None else _delta_points(r.negative_share, o['negative_share'])} | {r.net_sentiment:+.2f} "
            f"| {_pct(r.share_of_voice)} |")
    return lines


def _categories_table(days: pd.DataFrame) -> list[str]:
    counts: dict[tuple[str, str], int] = {}
    for row in days.itertuples(index=False):
        for category, count in row.top_categories:
            counts[(row.brand, category)] = counts.get((row.brand, category), 0) + int(count)
    if not counts:
        return ["本周没有归类的负面提及。"]
    ordered = sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    return ["| 品牌 | 投诉类别 | 负面提及 |", "|---|---|---:|",
            *(f"| {markdown_cell(b)} | {markdown_cell(c)} | {n:,} |" for (b, c), n in ordered)]


def _terms_table(days: pd.DataFrame) -> list[str]:
    rows = [(row.brand, row.day, t) for row in days.itertuples(index=False) for t in row.rising_terms]
    if not rows:
        return ["本周负面讨论中没有明显上升的词。"]
    return ["| 品牌 | 日期 | 上升词 | 当日帖子 | 前 7 日日均 |", "|---|---|---|---:|---:|",
            *(f"| {markdown_cell(b)} | {d} | {markdown_cell(t[0])} | {int(t[1]):,} | {float(t[2]):g} |"
              for b, d, t in sorted(rows, key=lambda r: (r[0], r[1], -int(r[2][1]))))]


def _incidents_table(incidents: Sequence[IncidentLine]) -> list[str]:
    if not incidents:
        return ["本周没有进行中的舆情事件。"]
    return ["| 事件 | 品牌 | 类别 | 级别 | 状态 | 热度 | 发现时间 |", "|---|---|---|---|---|---:|---|",
            *(f"| {markdown_cell(i.key)} | {markdown_cell(i.brand)} | {markdown_cell(i.category)} | {i.level} "
              f"| {i.state} | {i.heat:.1f} | {i.detected} |" for i in incidents)]


def render_report(data: ReportData) -> str:
    """Return the weekly 声誉报告 as markdown (charts linked by the file names in `data.charts`)."""
    this = data.weeks[data.weeks["week"] == data.monday]
    last = data.weeks[data.weeks["week"] == data.monday - timedelta(days=7)]
    still_open = sum(1 for i in data.incidents if i.state not in ("已回落", "已关闭"))
    sunday = data.monday + timedelta(days=6)
    lines = [f"# 声誉报告 {data.week}（{data.monday} 至 {sunday}）", "", "## 本周变化", "",
             *(f"{n}. {s}" for n, s in enumerate(changes(this, last, data.days, data.opened, still_open), 1)), "",
             "## 各品牌本周指标", "", *_brand_table(this, last), "", "## 趋势", "",
             *(f"![{title}]({name})\n" for title, name in data.charts), "## 投诉类别（本周各日前三类合计）", "",
             *_categories_table(data.days), "", "## 上升词（负面帖子，较前 7 日日均翻倍以上）", "",
             *_terms_table(data.days), "", "## 舆情事件及状态", "", *_incidents_table(data.incidents), "",
             "---", "口径：声量含转发；负面占比 = 负面提及 / 声量；净情感 = 正面占比 − 负面占比；声量份额为同品类"
             "（本品牌与竞品）内的占比；演练数据不计入。"]
    return "\n".join(lines) + "\n"
