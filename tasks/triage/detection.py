"""Spike detection that says why. Pure: counts in, rule hits with their numbers out.

For one brand x crisis category at the end of a scan window:
- short_spike: the window's negative count x against the previous `short_baseline_hours` hours:
  rate λ per window (at least `rate_floor`·window), σ = max(sample σ, √λ); fires when
  x ≥ min_volume, x ≥ λ + k·σ, the exact Poisson tail P(X ≥ x | λ) < alpha, and the brand's negative
  share rose by at least `min_share_rise` over its baseline share (volume alone is no crisis) or stands at
  `negative_majority` or more (most of what is said of the brand is negative: a cascade that has been
  negative for hours cannot rise over itself, and a sale never makes most mentions complaints);
- long_spike: the last 24 h against the same 24 h of each of the previous `long_baseline_days`
  days (mean μ, σ = max(sample σ, √μ)), with the same volume, Poisson and share conditions;
- critical_terms: at least `critical_min` negative mentions in the window carry a critical term;
- claims: at least `claims_min` negative mentions in the window make a claim about the watched name (致癌 …);
  both term rules also need the count to be unlikely at the group's rate of such mentions in the previous
  `short_baseline_hours` (a big brand's everyday posts hold a few);
- influencer: a negative mention in the window reaches at least `influencer_reach` people, in a crisis
  category, with at least three negatives in the window;
- viral_post: a negative original post spread far beyond its author's audience (see `viral_needed`).
Not a rule: spreading_watch lists a negative post half way there with no incident, for a person to judge (待核实).
Volume rules skip 其他 (negatives no category explains): misread neutral posts gather there.
Reposts count as what they repost (monitoring resolves them), so volumes count a cascade by its reposts.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tasks.incidents.state import OTHER_CATEGORY


@dataclass(frozen=True)
class Thresholds:
    window_minutes: int = 60
    short_baseline_hours: int = 12
    k_sigma: float = 3.0
    min_volume: int = 8
    alpha: float = 0.001
    rate_floor: float = 0.5
    min_share_rise: float = 0.15
    negative_majority: float = 0.5
    critical_min: int = 2
    claims_min: int = 5
    critical_alpha: float = 0.01
    influencer_reach: int = 300_000
    viral_min_reposts: int = 50
    viral_audience_share: float = 0.01
    viral_max_reposts: int = 1000
    viral_unexplained_factor: float = 3.0
    watch_share: float = 0.5


@dataclass(frozen=True)
class SpreadingPost:
    """A negative original post of the group and how far it spreads."""

    external_id: str
    excerpt: str
    author_reach: int  # the original's reach (its author's followers or its views); 0 when unknown
    reposts: int  # its reposts and near-duplicates stored with a time in the window
    reported: int | None = None  # the repost count its platform reported at the last read (posts of the last 24 h)
    growth: int | None = None  # reposts its platform reported gained between the last read before the window and one in it
    mention_id: int | None = None  # the stored original: the incident its group opens holds it, however old

    @property
    def spread(self) -> int:
        return max(self.reposts, self.reported or 0, self.growth or 0)


@dataclass
class TermCounts:
    """The negative mentions of a group's window that carry terms of one kind (critical terms; claims)."""

    terms: Counter[str] = field(default_factory=Counter)  # term -> negative mentions carrying it
    mentions: int = 0
    repeats: int = 0  # of those, reposts or copies of an earlier post (they spread its terms)
    baseline: list[int] = field(default_factory=list)  # such mentions per window, previous hours

    def add(self, stored: str, repeat: bool) -> None:
        """Count one mention's terms as stored (comma-separated; "" when it carries none)."""
        terms = [t for t in stored.split(",") if t]
        self.terms.update(terms)
        self.mentions += bool(terms)
        self.repeats += bool(terms) and repeat


@dataclass
class GroupWindow:
    """What detection knows about one brand x category at the end of a window."""

    brand: str
    category: str
    negative: int = 0  # negatives of this group in the window
    negative_reach: int = 0
    brand_volume: int = 0  # every mention of the brand in the window (share denominator)
    brand_negative: int = 0
    baseline_counts: list[int] = field(default_factory=list)  # group negatives per window, previous hours
    baseline_share: float = 0.0  # brand's negative share over the short baseline
    day_negative: int = 0  # group negatives in the last 24 h
    day_baseline: list[int] = field(default_factory=list)  # the same 24 h on each previous day
    day_share: float = 0.0
    day_baseline_share: float = 0.0
    critical: TermCounts = field(default_factory=TermCounts)  # critical terms (泄露, 中毒 …)
    claims: TermCounts = field(default_factory=TermCounts)  # claims (致癌, 送医 …)
    top_reach: int = 0
    first_negative_at: datetime | None = None
    spreading: list[SpreadingPost] = field(default_factory=list)  # the most reposted negative originals

    @property
    def share(self) -> float:
        return self.brand_negative / self.brand_volume if self.brand_volume else 0.0


@dataclass(frozen=True)
class RuleHit:
    rule: str
    brand: str
    category: str
    reason: str


def poisson_tail(x: int, lam: float) -> float:
    """Return P(X ≥ x) for X ~ Poisson(lam), exactly (summing the lower terms in log space)."""
    if x <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if x > lam:  # past the mode the terms only fall: a few upper ones, where the lower sum took x (and cancelled)
        return _upper_sum(x, lam)
    log_lam, log_term, below = math.log(lam), -lam, 0.0
    for k in range(x):
        below += math.exp(log_term)
        log_term += log_lam - math.log(k + 1)
    return max(0.0, 1.0 - below) if below < 0.999999 else _upper_sum(x, lam)


def _upper_sum(x: int, lam: float) -> float:
    log_lam = math.log(lam)
    log_term = -lam + x * log_lam - math.lgamma(x + 1)
    total, k = 0.0, x
    # a safety bound only: past the mode the terms fall to 1e-12 of the sum within about 7.5 standard deviations
    last = x + 10_000 + int(40 * math.sqrt(lam))
    while True:
        term = math.exp(log_term)
        total += term
        if term < total * 1e-12 or k > last:
            return total
        k += 1
        log_term += log_lam - math.log(k)


def _spread(values: Sequence[int], mean: float) -> float:
    sample = statistics.pstdev(values) if len(values) > 1 else 0.0
    return max(sample, math.sqrt(mean))


def _spike(x: int, baseline: Sequence[int], floor: float, t: Thresholds) -> tuple[bool, float, float, float]:
    """Return (fires, mean, sigma, p) for a count against baseline counts of the same span. p is worked out only
    for a count past the volume and sigma bars (1.0 otherwise): it is only shown when the rule fires, and summing
    the Poisson tail of every group at every scan was a few percent of a replay."""
    mean = max(statistics.fmean(baseline) if baseline else 0.0, floor)
    sigma = _spread(baseline, mean)
    if x < t.min_volume or x < mean + t.k_sigma * sigma:
        return False, mean, sigma, 1.0
    p = poisson_tail(x, mean)
    return p < t.alpha, mean, sigma, p


def _share_reason(share: float, baseline: float, rise: float, t: Thresholds) -> str | None:
    """Return the reason's words on the brand's negative share when it rose by `rise` over its baseline or is a
    majority (saying which); None when neither, and the spike is no crisis."""
    words = f"品牌负面占比 {share:.0%}（基线 {baseline:.0%}"
    if share >= baseline + rise:
        return words + "）"
    if share >= t.negative_majority:
        return words + f"，未升 {rise:.0%} 但已过半（≥ {t.negative_majority:.0%}））"
    return None


INFLUENCER_MIN_NEGATIVE = 3


def short_spike(g: GroupWindow, t: Thresholds) -> RuleHit | None:
    """Fire on a jump of the window's count over the previous hours, with the share risen."""
    if g.category == OTHER_CATEGORY:  # negatives no category explains: too noisy for volume rules
        return None
    floor = t.rate_floor * t.window_minutes / 60
    fires, mean, sigma, p = _spike(g.negative, g.baseline_counts, floor, t)
    share = _share_reason(g.share, g.baseline_share, t.min_share_rise, t)
    if not (fires and share):
        return None
    return RuleHit("short_spike", g.brand, g.category, (
        f"短期突增：最近 {t.window_minutes} 分钟「{g.brand}·{g.category}」负面 {g.negative} 条，"
        f"前 {t.short_baseline_hours} 小时同长窗口均值 {mean:.1f}（σ {sigma:.1f}），超过 {t.k_sigma:g}σ，"
        f"Poisson p={p:.1e}；{share}"
    ))


def long_spike(g: GroupWindow, t: Thresholds) -> RuleHit | None:
    """Fire when the last day stands out against the same hours of the previous days."""
    if not g.day_baseline or g.category == OTHER_CATEGORY:
        return None
    fires, mean, sigma, p = _spike(g.day_negative, g.day_baseline, t.rate_floor * 24, t)
    share = _share_reason(g.day_share, g.day_baseline_share, t.min_share_rise / 2, t)
    if not (fires and share):
        return None
    return RuleHit("long_spike", g.brand, g.category, (
        f"日度异常：最近 24 小时「{g.brand}·{g.category}」负面 {g.day_negative} 条，"
        f"前 {len(g.day_baseline)} 天同时段均值 {mean:.1f}（σ {sigma:.1f}），超过 {t.k_sigma:g}σ，Poisson p={p:.1e}；"
        f"{share}"
    ))


def _unusual(count: int, baseline: list[int], alpha: float, t: Thresholds) -> str | None:
    """Return how a term rule's count compares with the group's previous hours ("" when they held none), or None
    when the count is what those hours make likely (exact Poisson tail ≥ alpha at their mean rate): a big brand's
    everyday posts carry critical terms and claims too, a few an hour of thousands."""
    lam = statistics.fmean(baseline) if baseline else 0.0
    if lam == 0:
        return ""
    if poisson_tail(count, lam) >= alpha:
        return None
    return f"；此前 {len(baseline) * t.window_minutes // 60} 小时平均每 {t.window_minutes} 分钟 {lam:.1f} 条"


def critical_terms(g: GroupWindow, t: Thresholds) -> RuleHit | None:
    """Fire at once on negative mentions carrying critical terms (泄露, 爆炸, 中毒 …), unless the previous hours
    held as many (see _unusual, at critical_alpha: looser than the spike rules' alpha, as two 致癌 reposts an hour
    after the post itself, λ 0.08, are 0.3 % likely, and a scare)."""
    return _term_hit("critical_terms", "关键风险词", "含", g, g.critical, t.critical_min, t.critical_alpha, t)


def claims(g: GroupWindow, t: Thresholds) -> RuleHit | None:
    """Fire on a scare that spreads: negative mentions making a claim about the watched name (致癌, 禁用农药, 送医 …),
    reposts counting as what they repost. A claim is wider than a critical term (a quality or food story can
    make one), so it needs more voices; a slow scare of a few reposts an hour gets there long before a volume
    rule or viral_post would. A big brand's everyday chatter makes claims every hour too (过期, 变质 of a dairy's
    thousands of posts a day): the count must also be unlikely under the previous hours' rate (see _unusual, at
    the spike rules' alpha: at critical_alpha a real 蒙牛 stream of 50 posts an hour opened once in the 29 hours
    after its first 12, benchmarks/stream.py)."""
    return _term_hit("claims", "风险说法扩散", "称", g, g.claims, t.claims_min, t.alpha, t)


def _term_hit(rule: str, heading: str, verb: str, g: GroupWindow, said: TermCounts, minimum: int, alpha: float,
              t: Thresholds) -> RuleHit | None:
    """Return a term rule's hit: at least `minimum` of the group's negative mentions carry such terms, and that
    is unusual for the previous hours (see _unusual, at `alpha`)."""
    if said.mentions < minimum or (usual := _unusual(said.mentions, said.baseline, alpha, t)) is None:
        return None
    listed = "、".join(f"{term}×{n}" for term, n in said.terms.most_common(5))
    copies = f"，其中 {said.repeats} 条是转发或重复" if said.repeats else ""
    return RuleHit(rule, g.brand, g.category, (
        f"{heading}：最近 {t.window_minutes} 分钟「{g.brand}」{said.mentions} 条负面提及{verb} {listed}"
        f"（≥ {minimum}{copies}{usual}）"
    ))


def influencer(g: GroupWindow, t: Thresholds) -> RuleHit | None:
    """Fire at once on a negative post with very high reach (a news outlet, an influencer) that others
    echo: a crisis category and at least three negatives in the window (a lone complaint is not one)."""
    if g.top_reach < t.influencer_reach or g.category == OTHER_CATEGORY or g.negative < INFLUENCER_MIN_NEGATIVE:
        return None
    return RuleHit("influencer", g.brand, g.category, (
        f"高影响力帖子：「{g.brand}·{g.category}」一条负面帖子触达 {g.top_reach:,} 人（≥ {t.influencer_reach:,}）"
    ))


def viral_needed(author_reach: int, t: Thresholds, unexplained: bool = False) -> int:
    """Return the reposts that make a post by an author of `author_reach` viral:
    needed = min(viral_max_reposts, max(viral_min_reposts, ⌈viral_audience_share × author_reach⌉)),
    times viral_unexplained_factor for a post no crisis category explains (其他).

    A post normally travels within its author's audience, and the bigger the audience the more reposts are
    ordinary: 1 % of it reposting within the window is far more than usual. A small account's post
    reposted by many more than that has left its circle and is carried by strangers; the floor keeps a
    few friends' reposts quiet, the cap keeps a star's post from needing an impossible count.
    """
    needed = min(t.viral_max_reposts, max(t.viral_min_reposts, math.ceil(t.viral_audience_share * author_reach)))
    return math.ceil(needed * t.viral_unexplained_factor) if unexplained else needed


def viral_post(g: GroupWindow, t: Thresholds) -> RuleHit | None:
    """Fire on a negative original post about the brand whose reposts in the window (or, where the platform
    reports it, its repost count in its first day, or the reposts it gained between two reads in the window)
    reach `viral_needed` for its author's reach (more in 其他, where only the tone says it is a complaint)."""
    unexplained = g.category == OTHER_CATEGORY
    best = max(g.spreading, key=lambda p: p.spread / viral_needed(p.author_reach, t, unexplained), default=None)
    if best is None or best.spread < (needed := viral_needed(best.author_reach, t, unexplained)):
        return None
    return RuleHit("viral_post", g.brand, g.category, (
        f"负面帖子扩散：「{g.brand}·{g.category}」{_post_spread(best, t)}，超过门槛 {needed:,}"
        f"（触达 × {t.viral_audience_share:g}，不少于 {t.viral_min_reposts:,}、至多 {t.viral_max_reposts:,}"
        + (f"；未归入任何危机类别，再 × {t.viral_unexplained_factor:g}）" if unexplained else "）")
    ))


def _post_spread(post: SpreadingPost, t: Thresholds) -> str:
    """Return which post spreads and how far, in words: 原帖 X「…」（作者触达 N 人）最近 30 分钟被转发 M 次."""
    if post.reposts >= post.spread:
        spread = f"最近 {t.window_minutes} 分钟被转发 {post.reposts:,} 次"
    elif (post.reported or 0) >= post.spread:
        spread = f"平台报告转发 {post.spread:,} 次（本窗口内收录 {post.reposts:,} 次）"
    else:
        spread = (f"最近 {t.window_minutes} 分钟两次读取之间平台报告的转发增加 {post.spread:,} 次"
                  f"（本窗口内收录 {post.reposts:,} 次）")
    return f"原帖 {post.external_id}「{post.excerpt}」（作者触达 {post.author_reach:,} 人）{spread}"


WATCH_RULE = "spreading_watch"
WATCH_MODE = "watch"  # its mode in detection_hits: recorded with no incident, listed on the 待核实 board


def spreading_watch(g: GroupWindow, t: Thresholds) -> RuleHit | None:
    """A watch, not a rule: a negative original post about the brand that no rule opened an incident for, spread
    at least `watch_share` of viral_post's threshold for a post in a crisis category (in 其他 too, where
    viral_post needs viral_unexplained_factor times more). It opens nothing: the board lists it as 待核实 for a
    person to judge (a real crisis the lexicon has no words for spreads like this: an abduction rumour at a
    store, a fee nobody announced), who can open an incident by hand (`crisis open`)."""
    best = max(g.spreading, key=lambda p: p.spread / viral_needed(p.author_reach, t), default=None)
    if best is None:
        return None
    needed = viral_needed(best.author_reach, t)
    if best.spread < max(1, math.ceil(t.watch_share * needed)):
        return None
    opens = (f"归入危机类别的帖子 {needed:,} 次即开启事件，未归入任何类别的需 "
             f"{viral_needed(best.author_reach, t, unexplained=True):,} 次" if g.category == OTHER_CATEGORY
             else f"开启门槛 {needed:,} 次")
    return RuleHit(WATCH_RULE, g.brand, g.category,
                   f"待核实：「{g.brand}·{g.category}」{_post_spread(best, t)}（{opens}）；规则未开启事件，请人工判断")


RULES = {"short_spike": short_spike, "long_spike": long_spike, "critical_terms": critical_terms, "claims": claims,
         "influencer": influencer, "viral_post": viral_post}


def evaluate(g: GroupWindow, t: Thresholds) -> list[RuleHit]:
    """Return every rule that fires for the group (in RULES order)."""
    return [hit for rule in RULES.values() if (hit := rule(g, t)) is not None]
