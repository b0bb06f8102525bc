"""Reputation indicators (舆情监测: how the public sees each brand, ours and our rivals'), per brand per local
day, vectorised with pandas. Pure: frames in, frames out.

What counts, and why:
- **Volume** is every stored mention that names the brand (as its first brand or among the others it names),
  reposts and near-duplicates included: a repost is one more person saying it, and the incidents count the
  same way. A post read twice is stored once (source + id), so it counts once. Drills never reach here.
- **Negative share** = negative / volume; **net sentiment** = positive share − negative share, where a
  positive mention is one not negative whose sentiment (the model's positive probability) is at least
  POSITIVE_FROM; the rest is neutral.
- **Share of voice** = the brand's volume / the volume of every watched brand (ours and rivals') in the same
  product category that day; brands without a category are compared with each other.
- **Top complaint categories**: the crisis categories of the day's negative mentions, most first.
- **Rising terms** come from the jieba tokens of the *negative* posts (what people complain about, not what
  they praise): a term's count is the number of the day's negative posts of the brand that contain it; it
  rises when the count is at least MIN_TERM_COUNT and at least twice its mean over the previous 7 days (days
  without posts count as 0). Stopwords, one-character tokens, numbers and every brand, alias and product
  name are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

POSITIVE_FROM = 0.6
TOP_CATEGORIES = 3
TOP_TERMS = 5
MIN_TERM_COUNT = 3
RISE_FACTOR = 2.0
BASELINE_DAYS = 7
STOPWORDS = frozenset(
    "的 了 是 我 你 他 她 它 们 我们 你们 他们 这 那 这个 那个 这样 那样 就 都 也 还 又 在 和 与 及 或 而 但 但是 "
    "因为 所以 如果 虽然 一个 一下 一些 一点 什么 怎么 为什么 没有 不是 已经 可以 不能 不会 就是 还是 真的 "
    "觉得 感觉 知道 现在 今天 昨天 时候 大家 自己 有点 非常 特别 比较 而且 然后 以后 之后 之前 东西 这次 "
    "一次 出来 起来 看看 有人 别人 这么 那么 怎么办 吗 吧 呢 啊 呀 哈 哈哈 啦 嘛 哦 吧 了吧 好的".split())
_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_NUMBERISH = re.compile(r"^[\d.%,:/+-]+$")


@dataclass(frozen=True)
class BrandInfo:
    competitor: bool
    product_category: str | None


def local_days(published_at: pd.Series, zone: str) -> pd.Series:
    """Return each UTC time (text as the database gives it, or datetimes) as its local day, midnight-naive."""
    utc = pd.to_datetime(published_at, utc=True, format="ISO8601")
    return utc.dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()


def day_end(day: date, zone: str) -> datetime:
    """Return the aware local midnight that ends `day`."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))


def is_term(token: str, excluded: frozenset[str]) -> bool:
    """Tell whether a token may be a rising term: two characters or more, a word, no stopword or brand name."""
    return (len(token) >= 2 and token not in STOPWORDS and token not in excluded
            and _KEEP.search(token) is not None and _NUMBERISH.match(token) is None)


def _text_terms(texts: Sequence[str], excluded: frozenset[str],
                tokenize: Callable[[str], list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return the vocabulary, and per distinct text its term ids (flat) and how many: each distinct text is
    tokenised once and each distinct token judged once."""
    vocabulary: dict[str, int] = {}
    judged: dict[str, bool] = {}
    ids: list[int] = []
    lengths: list[int] = []
    for text in texts:
        before = len(ids)
        for token in set(tokenize(text)):
            keep = judged.get(token)
            if keep is None:
                keep = judged[token] = is_term(token, excluded)
            if keep:
                ids.append(vocabulary.setdefault(token, len(vocabulary)))
        lengths.append(len(ids) - before)
    return list(vocabulary), np.asarray(ids, dtype=np.int64), np.asarray(lengths, dtype=np.int64)


def _term_counts(posts: pd.DataFrame, first: pd.Timestamp, n_days: int, n_texts: int, text_codes: np.ndarray,
                 ids: np.ndarray, lengths: np.ndarray, n_terms: int) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Return the sorted keys ((brand × n_days + day) × n_terms + term) with the number of posts containing the
    term, and the brands: a post's copies of the same text on the same day and brand are counted together."""
    day = ((posts["day"] - first) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
    brand_codes, brands = pd.factorize(posts["brand"])
    inside = (day >= 0) & (day < n_days)
    pairs, copies = np.unique((brand_codes[inside] * n_days + day[inside]) * n_texts + text_codes[inside],
                              return_counts=True)
    text = pairs % n_texts
    per = lengths[text]
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    where = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per) + np.repeat(offsets[text], per)
    keys = np.repeat(pairs // n_texts, per) * n_terms + ids[where]
    codes, unique = pd.factorize(keys)
    counts = np.bincount(codes, weights=np.repeat(copies, per)).astype(np.int64)
    order = np.argsort(unique)
    return unique[order], counts[order], brands


def rising_terms(posts: pd.DataFrame, days: Sequence[date], excluded: Iterable[str],
                 tokenize: Callable[[str], list[str]]) -> dict[tuple[date, str], list[list[object]]]:
    """Return, per (day, brand), up to TOP_TERMS [term, count, previous 7-day mean] that rise, most first.
    `posts` (day, brand, text) are the negative posts of `days` and of the BASELINE_DAYS before them."""
    if posts.empty:
        return {}
    first = pd.Timestamp(min(days)) - pd.Timedelta(days=BASELINE_DAYS)
    n_days = (max(days) - min(days)).days + 1 + BASELINE_DAYS
    text_codes, texts = pd.factorize(posts["text"])
    vocabulary, ids, lengths = _text_terms(list(texts), frozenset(excluded), tokenize)
    n_terms = max(1, len(vocabulary))
    keys, counts, brands = _term_counts(posts, first, n_days, len(texts), text_codes, ids, lengths, n_terms)
    if not len(keys):
        return {}
    day = keys // n_terms % n_days
    candidate = (day >= BASELINE_DAYS) & (counts >= MIN_TERM_COUNT)
    wanted, count = keys[candidate], counts[candidate]
    before = np.zeros(len(wanted), dtype=np.int64)
    for back in range(1, BASELINE_DAYS + 1):  # the same brand and term, `back` days earlier
        earlier = wanted - back * n_terms
        at = np.minimum(np.searchsorted(keys, earlier), len(keys) - 1)
        before += np.where(keys[at] == earlier, counts[at], 0)
    mean = before / BASELINE_DAYS
    rising = count >= RISE_FACTOR * mean
    wanted, count, mean = wanted[rising], count[rising], mean[rising]
    frame = pd.DataFrame({"group": wanted // n_terms, "term": np.asarray(vocabulary, dtype=object)[wanted % n_terms],
                          "count": count, "mean": mean, "rise": count - mean})
    frame = frame.sort_values(["group", "rise", "count", "term"], ascending=[True, False, False, True])
    out: dict[tuple[date, str], list[list[object]]] = {}
    for row in frame.groupby("group", sort=False).head(TOP_TERMS).itertuples(index=False):
        key = ((first + pd.Timedelta(days=int(row.group % n_days))).date(), str(brands[row.group // n_days]))
        out.setdefault(key, []).append([row.term, int(row.count), round(float(row.mean), 2)])
    return out


def top_categories(mentions: pd.DataFrame) -> dict[tuple[date, str], list[list[object]]]:
    """Return, per (day, brand), the TOP_CATEGORIES crisis categories of its negative mentions with counts."""
    negative = mentions[mentions["negative"].astype(bool) & mentions["category"].notna()]
    counts = negative.groupby(["day", "brand", "category"]).size().rename("count").reset_index()
    counts = counts.sort_values(["day", "brand", "count", "category"], ascending=[True, True, False, True])
    out: dict[tuple[date, str], list[list[object]]] = {}
    for row in counts.groupby(["day", "brand"], sort=False).head(TOP_CATEGORIES).itertuples(index=False):
        out.setdefault((row.day.date(), row.brand), []).append([row.category, int(row.count)])
    return out


def daily_counts(mentions: pd.DataFrame, days: Sequence[date], brands: Mapping[str, BrandInfo]) -> pd.DataFrame:
    """Return one row per day × brand (every watched brand, and any other named): volume, negative, positive,
    the shares and the share of voice in its product category."""
    negative = mentions["negative"].astype(bool)
    flags = pd.DataFrame({"day": mentions["day"], "brand": mentions["brand"], "negative": negative,
                          "positive": ~negative & (mentions["sentiment"] >= POSITIVE_FROM)})
    grouped = flags.groupby(["day", "brand"]).agg(volume=("negative", "size"), negative=("negative", "sum"),
                                                  positive=("positive", "sum"))
    names = sorted(set(brands) | set(grouped.index.get_level_values("brand")))
    grid = pd.MultiIndex.from_product([pd.to_datetime(pd.Series(list(days))), names], names=["day", "brand"])
    frame = grouped.reindex(grid, fill_value=0).astype("int64").reset_index()
    info = {name: brands.get(name, BrandInfo(False, None)) for name in names}
    frame["competitor"] = frame["brand"].map(lambda b: info[b].competitor)
    frame["product_category"] = frame["brand"].map(lambda b: info[b].product_category)
    volume = frame["volume"].where(frame["volume"] > 0)
    frame["negative_share"] = (frame["negative"] / volume).fillna(0.0)
    frame["net_sentiment"] = ((frame["positive"] - frame["negative"]) / volume).fillna(0.0)
    group = frame["product_category"].fillna("\0")
    total = frame.groupby([frame["day"], group])["volume"].transform("sum")
    frame["share_of_voice"] = (frame["volume"] / total.where(total > 0)).fillna(0.0)
    return frame


def incident_load(incidents: pd.DataFrame, metrics: pd.DataFrame, days: Sequence[date],
                  zone: str) -> dict[tuple[date, str], tuple[int, float]]:
    """Return, per (day, brand), the incidents open at the day's end and the highest heat among them (their
    last measured heat by then, or the incident's own). `incidents`: id, brand, opened_at, ended_at, heat
    (UTC); `metrics`: incident_id, window_end, heat."""
    out: dict[tuple[date, str], tuple[int, float]] = {}
    for day in days:
        end = pd.Timestamp(day_end(day, zone))
        open_ = incidents[(incidents["opened_at"] < end) & (incidents["ended_at"].isna() | (incidents["ended_at"] >= end))]
        for brand, rows in open_.groupby("brand"):
            heats = []
            for incident in rows.itertuples(index=False):
                measured = metrics[(metrics["incident_id"] == incident.id) & (metrics["window_end"] <= end)]
                heats.append(float(measured.sort_values("window_end")["heat"].iloc[-1]) if len(measured)
                             else float(incident.heat))
            out[(day, str(brand))] = (len(rows), round(max(heats), 1))
    return out


def indicator_rows(mentions: pd.DataFrame, terms: Mapping[tuple[date, str], list[list[object]]],
                   load: Mapping[tuple[date, str], tuple[int, float]],
                   days: Sequence[date], brands: Mapping[str, BrandInfo]) -> list[dict[str, object]]:
    """Return the reputation_daily rows (without computed_at) of `days`: counts, shares, share of voice, top
    complaint categories, rising terms and incident load. `mentions` has day, brand, negative, sentiment,
    category (one row per brand a mention names, published on one of the days); `terms` is rising_terms()."""
    frame = daily_counts(mentions, days, brands)
    categories = top_categories(mentions)
    rows = []
    for row in frame.itertuples(index=False):
        key = (row.day.date(), row.brand)
        incidents, heat = load.get(key, (0, 0.0))
        rows.append({
            "day": key[0].isoformat(), "brand": row.brand, "competitor": bool(row.competitor),
            "product_category": row.product_category, "volume": int(row.volume), "negative": int(row.negative),
            "positive": int(row.positive), "negative_share": round(float(row.negative_share), 6),
            "net_sentiment": round(float(row.net_sentiment), 6), "share_of_voice": round(float(row.share_of_voice), 6),
            "top_categories": categories.get(key, []), "rising_terms": terms.get(key, []),
            "open_incidents": incidents, "incident_heat": heat})
    return rows


def compute_rows(mentions: pd.DataFrame, incidents: pd.DataFrame, metrics: pd.DataFrame, days: Sequence[date],
                 brands: Mapping[str, BrandInfo], excluded: Iterable[str], tokenize: Callable[[str], list[str]],
                 zone: str) -> list[dict[str, object]]:
    """Return the reputation rows of `days` from the rows the database gives: `mentions` (brand, published_at,
    negative, sentiment, category, text of the negative ones) of the days and the 7 before (the rising terms'
    baseline), the incidents and their metrics (incident_load). `excluded`: names never a rising term."""
    day = local_days(mentions["published_at"], zone)
    negative = mentions["text"].notna()
    posts = pd.DataFrame({"day": day[negative], "brand": mentions["brand"][negative], "text": mentions["text"][negative]})
    terms = rising_terms(posts, days, {*brands, *excluded}, tokenize)
    inside = day.isin(pd.to_datetime(pd.Series(list(days))).to_numpy())
    dated = pd.DataFrame({"day": day[inside], **{c: mentions[c][inside] for c in ("brand", "negative", "sentiment", "category")}})
    return indicator_rows(dated, terms, incident_load(incidents, metrics, days, zone), days, brands)
