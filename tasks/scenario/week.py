"""Simulated Chinese social-media chatter about the watched brands, with injected crises: the generators.

`generate_scenario` makes days of chatter with one crisis and the crisis product's orders (the demo and
the flow tests); `generate_week` makes days of chatter with several crises of given sizes and a sale
surge (the replay benchmark and drills). Deterministic for a seed and a lexicon (`random.Random(seed)`):
the brands, aliases and products are config/lexicon.toml's, read through `load_lexicon`; no database
or network. The texts follow the lexicon's categories: ordinary praise and neutral talk contain no
crisis-category term, everyday complaints contain exactly one (at most three per brand in any 60
minutes), and crisis posts contain several terms of the crisis category.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tasks.incidents.state import LEVELS, Level
from tasks.scenario.catalogue import Catalogue, load_catalogue
from tasks.scenario.chatter import brand_chatter, surge_posts
from tasks.scenario.crisis import SIZES, crisis_posts
from tasks.scenario.draws import Post, nickname_pool
from tasks.scenario.orders import order_rows
from tasks.scenario.vocabulary import CRISIS_CORES, PLATFORM_SLUG, SHANGHAI

NICKNAMES = 600
# With `rivals`: the competitors' ordinary chatter, and a small safety crisis (起火, 冒烟 …) of the first one's
# first product, starting this long before ours: a rival's crisis is our early warning (同类风险预警).
RIVAL_LEAD = timedelta(minutes=90)
RIVAL_CRISIS_CATEGORY = "人身安全/食品安全"


@dataclass(frozen=True)
class CrisisSpec:
    """One crisis to inject into a week, with the level a person would give it (one of LEVELS)."""

    brand: str
    product: str
    category: str
    start: datetime
    size: str = "medium"
    intended_level: str = Level.III


@dataclass(frozen=True)
class SurgeSpec:
    """A sale night: every brand's praise and neutral talk at `multiplier` times its rate for `hours`."""

    start: datetime
    hours: float = 4.0
    multiplier: float = 6.0


@dataclass(frozen=True)
class Week:
    """Simulated mentions of several days with injected crises and an optional sale surge (times in UTC)."""

    mentions: list[dict[str, object]]
    crises: tuple[CrisisSpec, ...]
    surge: SurgeSpec | None
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Scenario:
    """Simulated mentions with one crisis, plus the orders of the crisis product."""

    mentions: list[dict[str, object]]
    orders: list[dict[str, object]]
    brand: str
    product: str
    category: str
    crisis_start: datetime
    start: datetime
    end: datetime


def generate_scenario(
    seed: int, end: datetime, *, days: int = 7, crisis_brand: str | None = None,
    crisis_product: str | None = None, crisis_category: str = "产品质量",
    crisis_start: datetime | None = None, orders: int = 240, rivals: bool = False,
) -> Scenario:
    """Generate `days` of chatter ending at `end` with one crisis, and the crisis product's orders; with
    `rivals`, the competitors' chatter too and a small crisis of the first one RIVAL_LEAD before ours.

    The crisis brand defaults to the lexicon's first brand, the product to the brand's first product.
    `end` must be aware; it and `crisis_start` are floored to the second. The default crisis starts
    4 days before `end`, floored to the hour. Raise ValueError for bad arguments.
    """
    catalogue = load_catalogue()
    _check_range(end, days)
    brand = catalogue.brand(crisis_brand) if crisis_brand is not None else catalogue.first()
    product = crisis_product if crisis_product is not None else brand.products[0]
    _check_crisis(catalogue, brand.name, product, crisis_category)
    if orders < 0:
        raise ValueError(f"orders must not be negative, got {orders}")
    last = end.astimezone(UTC).replace(microsecond=0)
    first = last - timedelta(days=days)
    onset = _crisis_onset(last, first, crisis_start)
    master = random.Random(seed)
    chatter_rng, crisis_rng, order_rng = (random.Random(master.getrandbits(64)) for _ in range(3))
    nicknames = nickname_pool(chatter_rng, NICKNAMES)
    posts: list[Post] = []
    for watched in catalogue.brands:
        posts.extend(brand_chatter(chatter_rng, watched, first, last, nicknames))
    posts.extend(crisis_posts(crisis_rng, brand.name, product, crisis_category, onset, last, nicknames))
    if rivals:
        posts.extend(_rival_posts(random.Random(master.getrandbits(64)), catalogue, first, last, onset, nicknames))
    return Scenario(
        mentions=_mention_rows(seed, posts),
        orders=order_rows(order_rng, seed, product, orders, onset),
        brand=brand.name, product=product, category=crisis_category,
        crisis_start=onset, start=first, end=last,
    )


def generate_week(
    seed: int, end: datetime, *, days: int = 7, crises: Sequence[CrisisSpec] = (), surge: SurgeSpec | None = None,
    rivals: bool = False,
) -> Week:
    """Generate `days` of ordinary chatter ending at `end`, each crisis of `crises` and the surge; with
    `rivals`, the competitors are talked about (and surge) too, after our brands. A crisis may be a competitor's.

    `end` and every start must be aware and are floored to the second; the chatter is the same
    whatever the crises and surge. Raise ValueError for bad arguments.
    """
    catalogue = load_catalogue()
    _check_range(end, days)
    last = end.astimezone(UTC).replace(microsecond=0)
    first = last - timedelta(days=days)
    specs = tuple(_checked_crisis(catalogue, spec, first, last) for spec in crises)
    surge = _checked_surge(surge, first, last) if surge is not None else None
    master = random.Random(seed)
    chatter_rng, surge_rng = random.Random(master.getrandbits(64)), random.Random(master.getrandbits(64))
    nicknames = nickname_pool(chatter_rng, NICKNAMES)
    posts: list[Post] = []
    talked_about = (*catalogue.brands, *catalogue.rivals) if rivals else catalogue.brands
    for brand in talked_about:
        posts.extend(brand_chatter(chatter_rng, brand, first, last, nicknames))
    if surge is not None:
        finish = min(surge.start + timedelta(hours=surge.hours), last)
        posts.extend(surge_posts(surge_rng, talked_about, surge.start, finish, surge.multiplier, nicknames))
    for spec in specs:
        rng = random.Random(master.getrandbits(64))
        posts.extend(crisis_posts(rng, spec.brand, spec.product, spec.category, spec.start, last, nicknames,
                                  SIZES[spec.size]))
    return Week(mentions=_mention_rows(seed, posts), crises=specs, surge=surge, start=first, end=last)


def _rival_posts(rng: random.Random, catalogue: Catalogue, first: datetime, last: datetime, onset: datetime,
                 nicknames: Sequence[str]) -> list[Post]:
    """Return every competitor's ordinary chatter and the first one's small crisis, RIVAL_LEAD before `onset`."""
    posts: list[Post] = []
    for rival in catalogue.rivals:
        posts.extend(brand_chatter(rng, rival, first, last, nicknames))
    if catalogue.rivals:
        rival = catalogue.rivals[0]
        posts.extend(crisis_posts(rng, rival.name, rival.products[0], RIVAL_CRISIS_CATEGORY,
                                  max(first, onset - RIVAL_LEAD), last, nicknames, SIZES["small"]))
    return posts


def _check_range(end: datetime, days: int) -> None:
    """Raise ValueError unless `end` is aware and `days` is at least 1."""
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must be timezone-aware")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")


def _check_crisis(catalogue: Catalogue, brand: str, product: str, category: str) -> None:
    """Raise ValueError unless the brand, its product and the crisis category are known."""
    if product not in catalogue.brand(brand).products:
        raise ValueError(f"crisis_product {product!r} is not a product of {brand!r}")
    if category not in CRISIS_CORES:
        raise ValueError(f"unknown crisis_category {category!r}; known: {', '.join(CRISIS_CORES)}")


def _crisis_onset(last: datetime, first: datetime, crisis_start: datetime | None) -> datetime:
    """Return the crisis start in UTC (default: 4 days before the end, floored to the hour)."""
    if crisis_start is None:
        onset = (last - timedelta(days=4)).replace(minute=0, second=0)
    elif crisis_start.tzinfo is None or crisis_start.utcoffset() is None:
        raise ValueError("crisis_start must be timezone-aware")
    else:
        onset = crisis_start.astimezone(UTC).replace(microsecond=0)
    if not first <= onset <= last:
        raise ValueError(
            f"crisis_start {onset.isoformat()} is outside the covered range "
            f"[{first.isoformat()}, {last.isoformat()}] (pass crisis_start or more days)"
        )
    return onset


def _aware_utc(value: datetime, name: str) -> datetime:
    """Return an aware time in UTC floored to the second, or raise ValueError naming it."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0)


def _checked_crisis(catalogue: Catalogue, spec: CrisisSpec, first: datetime, last: datetime) -> CrisisSpec:
    """Return the spec with its start in UTC and its level a Level, or raise ValueError naming the bad field."""
    _check_crisis(catalogue, spec.brand, spec.product, spec.category)
    if spec.size not in SIZES:
        raise ValueError(f"unknown crisis size {spec.size!r}; known: {', '.join(SIZES)}")
    if spec.intended_level not in LEVELS:
        raise ValueError(f"unknown intended_level {spec.intended_level!r}; known: {', '.join(LEVELS)}")
    start = _aware_utc(spec.start, "crisis start")
    if not first <= start <= last:
        raise ValueError(f"crisis start {start.isoformat()} is outside [{first.isoformat()}, {last.isoformat()}]")
    return CrisisSpec(spec.brand, spec.product, spec.category, start, spec.size, Level(spec.intended_level))


def _checked_surge(surge: SurgeSpec, first: datetime, last: datetime) -> SurgeSpec:
    """Return the surge with its start in UTC, or raise ValueError naming the bad field."""
    start = _aware_utc(surge.start, "surge start")
    if not first <= start < last:
        raise ValueError(f"surge start {start.isoformat()} is outside [{first.isoformat()}, {last.isoformat()})")
    if surge.hours <= 0 or surge.multiplier < 1:
        raise ValueError(f"surge needs hours > 0 and multiplier >= 1, got {surge.hours} and {surge.multiplier}")
    return SurgeSpec(start, surge.hours, surge.multiplier)


def _mention_rows(seed: int, posts: list[Post]) -> list[dict[str, object]]:
    """Return canonical mention rows sorted by time, with ids s<seed>-NNNNNN and example URLs."""
    rows: list[dict[str, object]] = []
    for n, post in enumerate(sorted(posts, key=lambda p: p.at), start=1):
        mention_id = f"s{seed}-{n:06d}"
        rows.append({
            "id": mention_id, "text": post.text, "author": post.author, "reach": post.reach,
            "published_at": post.at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
            "url": f"https://example.com/{PLATFORM_SLUG[post.platform]}/{mention_id}",
            "platform": post.platform,
        })
    return rows
