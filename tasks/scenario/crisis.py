"""One injected crisis: its shape over time, its complaints, its high-reach posts and their reposts. Pure."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tasks.scenario.draws import Post, random_times, reach, weighted
from tasks.scenario.texts import crisis_text, kol_text_and_author
from tasks.scenario.vocabulary import COMPLAINT_PLATFORMS, REPOST_COMMENTS

CRISIS_KOL_MAX = 200_000  # other crisis posts stay below the 2-3 injected 300,000+ accounts


@dataclass(frozen=True)
class CrisisShape:
    """How a crisis unfolds: posts in its first and second half hour, per hour in hours 2-3, then an
    exponential decay (`decay_hours`) until hour `hours`; `kols` bounds its 300,000+ posts, which come
    between `kol_minutes` minutes after the onset."""

    first: float
    second: float
    plateau: float
    decay_hours: float
    hours: int
    kols: tuple[int, int]
    kol_minutes: tuple[int, int] = (10, 180)


# The demo's crisis (generate_scenario): two or three 300,000+ accounts post in its first 25 minutes, so the
# first scan after the onset grades it II 重大 (heat 80-95 with 15-20 complaints and 600,000+ reach): the
# commander, PR, customer service and quality are told, and PR gets the drafts (config/roster.toml).
DEFAULT_SHAPE = CrisisShape(first=15.0, second=25.0, plateau=60.0, decay_hours=5.0, hours=36, kols=(2, 3),
                            kol_minutes=(5, 25))
# Crisis sizes of a simulated week: small ≈ 13 posts in the first hour and no high-reach account,
# medium ≈ 40, large ≈ 110 with 3-4 accounts of 300,000+ (the default scenario sits between the last two).
SIZES: dict[str, CrisisShape] = {
    "small": CrisisShape(first=8.0, second=5.0, plateau=6.0, decay_hours=3.0, hours=12, kols=(0, 0)),
    "medium": CrisisShape(first=15.0, second=25.0, plateau=35.0, decay_hours=4.0, hours=24, kols=(0, 0)),
    "large": CrisisShape(first=45.0, second=65.0, plateau=150.0, decay_hours=6.0, hours=36, kols=(3, 4)),
}


def _crisis_schedule(rng: random.Random, onset: datetime, last: datetime, shape: CrisisShape) -> list[datetime]:
    """Return the crisis post times: the shape's two first half hours, its plateau in hours 2-3, then decay."""
    segments = [(0.0, 0.5, shape.first), (0.5, 1.0, shape.second), (1.0, 2.0, shape.plateau),
                (2.0, 3.0, shape.plateau)]
    segments += [(h, h + 1.0, shape.plateau * math.exp(-(h - 2) / shape.decay_hours))
                 for h in range(3, shape.hours)]
    times: list[datetime] = []
    for begin, finish, mean in segments:
        seg_start = onset + timedelta(hours=begin)
        seg_end = min(onset + timedelta(hours=finish), last)
        if seg_end <= seg_start:
            break
        share = (seg_end - seg_start) / timedelta(hours=finish - begin)
        count = round(mean * share * rng.uniform(0.9, 1.1))
        times.extend(random_times(rng, seg_start, seg_end, count))
    return times


def crisis_posts(rng: random.Random, brand: str, product: str, category: str, onset: datetime,
                 last: datetime, nicknames: Sequence[str], shape: CrisisShape = DEFAULT_SHAPE) -> list[Post]:
    """Return the crisis: complaints, the shape's high-reach posts early on, and reposts of earlier posts."""
    kol_start = onset + timedelta(minutes=shape.kol_minutes[0])
    kol_end = min(onset + timedelta(minutes=shape.kol_minutes[1]), last)
    kol_times = random_times(rng, kol_start, kol_end, rng.randint(*shape.kols)) if kol_start < kol_end else []
    schedule = _crisis_schedule(rng, onset, last, shape)
    events = sorted([(t, True) for t in kol_times] + [(t, False) for t in schedule])
    originals: list[Post] = []
    posts: list[Post] = []
    for at, is_kol in events:
        if not is_kol and originals and rng.random() < 0.2:
            posts.append(_repost(rng, originals, at, nicknames))
            continue
        if is_kol:
            post = _kol_post(rng, brand, product, category, at)
        else:
            text, audience = crisis_text(rng, brand, product, category), reach(rng, CRISIS_KOL_MAX)
            post = Post(at, text, rng.choice(nicknames), audience, weighted(rng, COMPLAINT_PLATFORMS))
        originals.append(post)
        posts.append(post)
    return posts


def _kol_post(rng: random.Random, brand: str, product: str, category: str, at: datetime) -> Post:
    """Return an early crisis post by a high-reach account (300,000+)."""
    text, author = kol_text_and_author(rng, brand, product, category)
    return Post(at, text, author, rng.randint(300_000, 800_000), "微博")


def _repost(rng: random.Random, originals: Sequence[Post], at: datetime, nicknames: Sequence[str]) -> Post:
    """Return a Weibo repost of an earlier crisis post; high-reach posts are reposted more."""
    weights = [5 if p.reach >= 300_000 else 1 for p in originals]
    source = rng.choices(originals, weights=weights)[0]
    text = f"{rng.choice(REPOST_COMMENTS)} //@{source.author}: {source.text}"
    return Post(at, text, rng.choice(nicknames), reach(rng, CRISIS_KOL_MAX), "微博")
