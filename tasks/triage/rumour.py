"""The rumour signal (谣言): does an incident's origin have the shape of one? Pure.

A rumour cascade starts differently from a customer's complaint: a forwarded list naming many brands
(问题食品名单, 黑名单, "以下…"), a call to spread it (求扩散, 速转, 帮忙转一下), a claim with no source (据说,
网传, 内部消息, a list or a call to spread it, with no link, no order, no named authority), and later a share
of posts that debunk it. A complaint carries first-hand evidence (an order number, a photo link); when at
least half of the origin does, it is substantiated and never marked. A post naming an authority (监管部门,
检测报告) is not "without a source".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from tasks.monitoring.claims import occurrences

LIST_MARKERS = re.compile(r"名单|黑名单|清单|以下(?:品牌|产品|商家|这些|几[个家款种])?")
# Calls to pass a warning on, as real rumours word them (CED's Weibo rumours: 帮忙转一下, 互相转发,
# 转给身边的人, 扩散给大家, 相互转告, 大家转起来); never a bare 转发, which a plain repost ("转发微博") and a giveaway
# ("转发本微博抽奖") say too. The earliest entries are the ones the reason names first.
SPREAD_CALLS = ("求扩散", "紧急扩散", "扩散出去", "转发周知", "速转", "求转发", "转给家人", "互相转告", "赶紧转发",
                "扩散给", "帮忙扩散", "帮扩散", "扩散周知", "扩散吧", "请扩散", "帮忙转", "请转发", "请大家转", "请多转",
                "多转发", "转发一下", "转一下", "互相转发", "相互转发", "相互转告", "转告身边", "转给身边", "转给你的",
                "转起来", "转发吧", "转发提醒", "让更多的人知道", "让更多人知道")
HEARSAY = ("据说", "网传", "听说", "朋友说", "内部消息", "据传", "传言", "有人说", "内部人士")
AUTHORITIES = ("市场监管", "监管部门", "监管局", "卫健委", "公安", "消协", "消费者协会", "官方通报", "通报",
               "检测报告", "质检报告", "法院", "新华社", "人民日报", "央视")
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)
_ORDER = re.compile(r"订单号?\s*[:：#]?\s*\d{6,}")
_NUMBERED = re.compile(r"(?:^|[\s，,；;：:。])(?:\d{1,2}|[①-⑳])[\.、．)）]?\s*(?=[^\d\s.、．)）])")
_ENUMERATED = re.compile(r"[^、，,。！!？?；;：:\s]{1,8}(?:、[^、，,。！!？?；;：:\s]{1,8})+")


@dataclass(frozen=True)
class Post:
    text: str
    debunk: bool
    published_at: datetime


@dataclass(frozen=True)
class RumourRules:
    list_items: int = 5  # a list post names at least this many brands or items
    min_signals: int = 2  # shape signals needed to mark an incident
    debunk_share: float = 0.1  # a later debunking share at least this, and above the earlier one, is "rising"


@dataclass(frozen=True)
class Verdict:
    possible: bool
    reason: str  # "疑似谣言：…" when possible, else what was seen (may be empty)
    substantiated: bool  # at least half of the origin carries first-hand evidence: a complaint, not a rumour


def listed_items(text: str, brands: Collection[str]) -> int:
    """Return how many brands or items a post enumerates (the largest of: known brands named, numbered
    items, the longest run of short 、-separated names after a list marker)."""
    named = sum(1 for b in brands if b and b in text)
    numbered = len(_NUMBERED.findall(text))
    marker = LIST_MARKERS.search(text)
    tail = text[marker.end():] if marker else ""
    enumerated = max((run.count("、") + 1 for run in _ENUMERATED.findall(tail)), default=0)
    return max(named, numbered, enumerated)


def first_hand(text: str) -> bool:
    """Tell whether a post carries first-hand evidence: a link (a photo, a page) or an order number."""
    return bool(_LINK.search(text) or _ORDER.search(text))


def sourced(text: str) -> bool:
    """Tell whether a post gives a source: first-hand evidence or a named authority."""
    return first_hand(text) or any(a in text for a in AUTHORITIES)


def debunk_shares(flags: Sequence[bool]) -> tuple[float, float]:
    """Return the debunking share of the earlier and of the later half of the posts (flags in time order)."""
    half = len(flags) // 2
    early, late = flags[:half], flags[half:]

    def share(part: Sequence[bool]) -> float:
        return sum(part) / len(part) if part else 0.0

    return share(early), share(late)


def calls_in(texts: Sequence[str]) -> list[str]:
    """Return the spread calls the texts make, in SPREAD_CALLS order, each named once: a call found only where an
    earlier-named one already is (帮忙转一下 is 帮忙转, not also 转一下) is not named again."""
    named: list[str] = []
    for call in SPREAD_CALLS:
        spans = [(t, at) for t in texts for at in occurrences(t, call)]
        if any(not any(_overlaps(t, at, len(call), other) for other in named) for t, at in spans):
            named.append(call)
    return named


def _overlaps(text: str, at: int, length: int, other: str) -> bool:
    return any(start < at + length and at < start + len(other) for start in occurrences(text, other))


def assess(origin: Sequence[Post], spread: Sequence[bool] | Callable[[], Sequence[bool]], brands: Collection[str],
           rules: RumourRules = RumourRules()) -> Verdict:
    """Judge whether an incident is a possible rumour from its origin (earliest and top posts) and, for the
    debunking share, whether each post about its brand since it started debunks (in time order); say why
    in Chinese.

    `spread` may be a function returning those flags: it is called only when the share can decide the verdict
    (the origin is not substantiated and lacks at most one signal). Reading every post of the brand since the
    incident started is the one cost here that grows with the incident, and a complaint (no rumour signal in
    its origin) never needs it; the reason of a verdict that is not a rumour then leaves the share out."""
    texts = [p.text for p in origin if not p.debunk]
    substantiated = bool(texts) and 2 * sum(first_hand(t) for t in texts) >= len(texts)
    evidence: list[str] = []
    most = max((listed_items(t, brands) for t in texts if LIST_MARKERS.search(t)), default=0)
    if most >= rules.list_items:
        evidence.append(f"源头为转发清单帖（列出 {most} 个品牌）")
    calls = calls_in(texts)
    if calls:
        evidence.append("含" + "".join(f"“{c}”" for c in calls))
    hearsay = sorted({h for t in texts for h in HEARSAY if h in t}, key=HEARSAY.index)
    # A claim nobody sources: hearsay, a forwarded list, or a call to pass it on, with no link, order number or
    # named authority anywhere in the origin (with a call, these are the two signals of most real rumours).
    if (hearsay or calls or most >= rules.list_items) and texts and not any(sourced(t) for t in texts):
        evidence.append("无信息来源" + ("（" + "".join(f"“{h}”" for h in hearsay) + "）" if hearsay else ""))
    if callable(spread):
        spread = spread() if not substantiated and len(evidence) + 1 >= rules.min_signals else ()
    early, late = debunk_shares(spread)
    rising = late >= rules.debunk_share and late > early
    signals = len(evidence) + rising
    debunked = f"辟谣帖占比 {late:.0%}（此前 {early:.0%}）" if rising else ""
    words = "、".join(evidence) + (("；" if evidence else "") + debunked if debunked else "")
    if signals >= rules.min_signals and not substantiated:
        return Verdict(True, "疑似谣言：" + words, substantiated)
    return Verdict(False, words, substantiated)
