"""Random draws shared by the chatter and the crises: counts, times, reach, platforms, nicknames. Pure.

Every function takes the `random.Random` to draw from, so a seed fixes the output.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from tasks.scenario.vocabulary import NICK_ADJECTIVES, NICK_CITIES, NICK_LATIN, NICK_NOUNS


@dataclass(frozen=True)
class Post:
    """One post before it gets its id, in UTC."""

    at: datetime
    text: str
    author: str
    reach: int
    platform: str


def poisson(rng: random.Random, mean: float) -> int:
    """Draw a Poisson-distributed count (Knuth's method; the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def random_times(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    """Return `count` sorted whole-second times in [start, end]."""
    span = int((end - start).total_seconds())
    return sorted(start + timedelta(seconds=rng.randint(0, span)) for _ in range(count))


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    """Return one key of `weights`, drawn in proportion to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def reach(rng: random.Random, kol_max: int = 800_000) -> int:
    """Return a reach: mostly 50-5,000 (log-uniform), rarely a KOL's 50,000-`kol_max`."""
    if rng.random() < 0.015:
        return rng.randint(50_000, kol_max)
    return int(math.exp(rng.uniform(math.log(50), math.log(5000))))


def nickname(rng: random.Random) -> str:
    """Return one generated nickname in a common style."""
    style = rng.randrange(4)
    if style == 0:
        return rng.choice(NICK_ADJECTIVES) + rng.choice(NICK_NOUNS)
    if style == 1:
        return f"{rng.choice(NICK_NOUNS)}{rng.choice(('_', '', '-'))}{rng.randint(1, 9999)}"
    if style == 2:
        return f"{rng.choice(NICK_LATIN)}在{rng.choice(NICK_CITIES)}"
    return f"{rng.choice(NICK_LATIN).lower()}{rng.choice(NICK_NOUNS)}{rng.randint(10, 99)}"


def nickname_pool(rng: random.Random, size: int) -> list[str]:
    """Return `size` nicknames (some repeat, as regular posters do)."""
    return [nickname(rng) for _ in range(size)]
