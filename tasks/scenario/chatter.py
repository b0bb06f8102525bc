"""Ordinary chatter about each watched brand, hour by hour with the Shanghai day rhythm, and a sale surge. Pure.

Everyday complaints are capped per brand (at most 3 in any 60 minutes) so ordinary chatter never looks
like a crisis; a surge adds praise and neutral talk only.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from tasks.scenario.catalogue import Brand
from tasks.scenario.draws import Post, poisson, random_times, reach, weighted
from tasks.scenario.texts import complaint_text, everyday_text, sale_text
from tasks.scenario.vocabulary import BRAND_RATE, COMPLAINT_PLATFORMS, HOURLY_RATE, PRAISE_PLATFORMS, SHANGHAI

MAX_COMPLAINTS_PER_HOUR = 3
COMPLAINT_SHARE = 0.13


def _hourly_mean(brand: Brand, slot: datetime, slot_end: datetime, factor: float = 1.0) -> float:
    """Return `factor` times the brand's usual number of mentions in [slot, slot_end), a part of one hour."""
    fraction = (slot_end - slot).total_seconds() / 3600
    return HOURLY_RATE[slot.astimezone(SHANGHAI).hour] * BRAND_RATE.get(brand.name, 1.0) * factor * fraction


def _chatter_times(rng: random.Random, brand: Brand, first: datetime, last: datetime) -> list[datetime]:
    """Return one brand's ordinary mention times, hour by hour with the Shanghai day rhythm."""
    times: list[datetime] = []
    slot = first
    while slot < last:
        slot_end = min(slot + timedelta(hours=1), last)
        times.extend(random_times(rng, slot, slot_end, poisson(rng, _hourly_mean(brand, slot, slot_end))))
        slot = slot_end
    return times


def brand_chatter(rng: random.Random, brand: Brand, first: datetime, last: datetime,
                  nicknames: Sequence[str]) -> list[Post]:
    """Return one brand's ordinary chatter, never more than 3 complaints in any 60 minutes."""
    recent: deque[datetime] = deque()
    posts: list[Post] = []
    for at in _chatter_times(rng, brand, first, last):
        while recent and at - recent[0] >= timedelta(hours=1):
            recent.popleft()
        complaint = rng.random() < COMPLAINT_SHARE and len(recent) < MAX_COMPLAINTS_PER_HOUR
        if complaint:
            recent.append(at)
            text, platforms = complaint_text(rng, brand), COMPLAINT_PLATFORMS
        else:
            text, platforms = everyday_text(rng, brand), PRAISE_PLATFORMS
        posts.append(Post(at, text, rng.choice(nicknames), reach(rng), weighted(rng, platforms)))
    return posts


def surge_posts(rng: random.Random, brands: Sequence[Brand], start: datetime, finish: datetime,
                multiplier: float, nicknames: Sequence[str]) -> list[Post]:
    """Return a sale night's extra praise, neutral and sale talk in [start, finish), `multiplier - 1` times
    each brand's usual rate."""
    posts: list[Post] = []
    for brand in brands:
        slot = start
        while slot < finish:
            slot_end = min(slot + timedelta(hours=1), finish)
            mean = _hourly_mean(brand, slot, slot_end, multiplier - 1)
            for at in random_times(rng, slot, slot_end, poisson(rng, mean)):
                text = sale_text(rng, brand) if rng.random() < 0.5 else everyday_text(rng, brand)
                posts.append(Post(at, text, rng.choice(nicknames), reach(rng), weighted(rng, PRAISE_PLATFORMS)))
            slot = slot_end
    return posts
