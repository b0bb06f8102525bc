"""Tests of the simulated week (tasks/scenario/week.py generate_week): crises of each size and category, a sale surge."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.drills import load_drills
from tasks.scenario.crisis import SIZES
from tasks.scenario.files import write_mentions
from tasks.scenario.week import CrisisSpec, SurgeSpec, Week, generate_week

ROOT = Path(__file__).resolve().parents[2]
LEXICON = tomllib.loads((ROOT / "config" / "lexicon.toml").read_text(encoding="utf-8"))
CATEGORIES: dict[str, list[str]] = {name: rule["any"] for name, rule in LEXICON["categories"].items()}
ALL_TERMS = [term for terms in CATEGORIES.values() for term in terms]
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SEED = 5
CRISES = (
    CrisisSpec("澄星", "澄星空气炸锅", "产品质量", END - timedelta(days=5, minutes=40), "small", "IV"),
    CrisisSpec("青禾", "青禾牛奶", "人身安全/食品安全", END - timedelta(days=4, hours=2), "large", "I"),
    CrisisSpec("木棉优选", "木棉毛巾", "售后服务", END - timedelta(days=3, hours=5), "medium", "III"),
    CrisisSpec("澄星", "澄星电水壶", "物流配送", END - timedelta(days=2, hours=9), "medium", "III"),
    CrisisSpec("青禾", "青禾坚果礼盒", "价格/虚假宣传", END - timedelta(days=1, hours=20), "small", "IV"),
    CrisisSpec("木棉优选", "木棉羽绒被", "个人信息泄露", END - timedelta(hours=20), "large", "II"),
)
SURGE = SurgeSpec(END - timedelta(days=6), hours=4, multiplier=6)  # 20:00-24:00 in Shanghai


@pytest.fixture(scope="module")
def week() -> Week:
    return generate_week(SEED, END, crises=CRISES, surge=SURGE)


def at(row: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(row["published_at"])).astimezone(UTC)


def brand_of(text: str) -> str | None:
    """Return the brand a text names, as the analysis decides (products first, then aliases)."""
    for field in ("products", "aliases"):
        for brand, entry in LEXICON["brands"].items():
            if any(name in text for name in entry[field]):
                return brand
    return None


def category_of(text: str) -> str | None:
    """Return the category with the most matching terms (config order breaks ties), as the analysis does."""
    hits = {name: sum(term in text for term in terms) for name, terms in CATEGORIES.items()}
    best = max(hits, key=lambda name: hits[name])
    return best if hits[best] else None


def crisis_posts(week: Week, crisis: CrisisSpec, hours: float) -> list[str]:
    """Return the texts naming the crisis product with a term of its category in the crisis's first hours."""
    until = crisis.start + timedelta(hours=hours)
    return [str(r["text"]) for r in week.mentions if crisis.start <= at(r) < until
            and crisis.product in str(r["text"]) and any(t in str(r["text"]) for t in CATEGORIES[crisis.category])]


def test_the_week_is_deterministic_and_its_chatter_does_not_depend_on_the_crises(week: Week) -> None:
    assert generate_week(SEED, END, crises=CRISES, surge=SURGE) == week
    quiet = generate_week(SEED, END)
    key = lambda r: (r["published_at"], r["text"], r["author"])  # noqa: E731
    assert Counter(map(key, quiet.mentions)) <= Counter(map(key, week.mentions))
    assert len(week.mentions) > len(quiet.mentions) + 1500
    assert week.start == END - timedelta(days=7) and week.end == END
    assert week.crises == CRISES and week.surge == SURGE


@pytest.mark.parametrize(("size", "low", "high"), [("small", 10, 16), ("medium", 30, 50), ("large", 100, 140)])
def test_each_size_has_its_volume_in_the_first_hour(week: Week, size: str, low: int, high: int) -> None:
    for crisis in (c for c in CRISES if c.size == size):
        assert low <= len(crisis_posts(week, crisis, 1)) <= high, crisis


@pytest.mark.parametrize("size", list(SIZES))
def test_only_large_crises_have_high_reach_accounts(week: Week, size: str) -> None:
    for crisis in (c for c in CRISES if c.size == size):
        early = [r for r in week.mentions if crisis.start <= at(r) < crisis.start + timedelta(hours=3)
                 and crisis.product in str(r["text"]) and int(str(r["reach"])) >= 300_000]
        assert (3 <= len(early) <= 4) if size == "large" else not early, crisis


@pytest.mark.parametrize("crisis", CRISES, ids=lambda c: c.category)
def test_crisis_posts_carry_the_terms_of_their_category(week: Week, crisis: CrisisSpec) -> None:
    texts = crisis_posts(week, crisis, 6)
    assert len(texts) >= 20
    assert sum(category_of(text) == crisis.category for text in texts) >= 0.97 * len(texts)


def test_every_crisis_fades_within_its_size(week: Week) -> None:
    for crisis in CRISES:
        late = crisis_posts(week, crisis, SIZES[crisis.size].hours + 3)
        assert len(late) == len(crisis_posts(week, crisis, SIZES[crisis.size].hours)), crisis


def test_the_surge_multiplies_praise_and_neutral_talk_only(week: Week) -> None:
    quiet = generate_week(SEED, END)
    window = (SURGE.start, SURGE.start + timedelta(hours=SURGE.hours))

    def inside(rows: list[dict[str, object]], brand: str, complaint: bool) -> int:
        return sum(window[0] <= at(r) < window[1] and brand_of(str(r["text"])) == brand
                   and any(t in str(r["text"]) for t in ALL_TERMS) == complaint for r in rows)

    for brand in LEXICON["brands"]:
        assert 4 <= inside(week.mentions, brand, False) / inside(quiet.mentions, brand, False) <= 8, brand
        assert inside(week.mentions, brand, True) == inside(quiet.mentions, brand, True), brand
    sale = [str(r["text"]) for r in week.mentions if window[0] <= at(r) < window[1] and "双11" in str(r["text"])]
    assert len(sale) > 50


def test_a_week_is_written_like_a_scenario(week: Week, tmp_path: Path) -> None:
    path = tmp_path / "week.jsonl"
    write_mentions(week, path)
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == week.mentions
    assert len({r["id"] for r in week.mentions}) == len(week.mentions)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"crises": [CrisisSpec("澄星", "澄星电水壶", "产品质量", END - timedelta(days=1), "huge", "III")]},
        {"crises": [CrisisSpec("澄星", "澄星电水壶", "产品质量", END - timedelta(days=1), "small", "V")]},
        {"crises": [CrisisSpec("澄星", "青禾牛奶", "产品质量", END - timedelta(days=1))]},
        {"crises": [CrisisSpec("澄星", "澄星电水壶", "天气", END - timedelta(days=1))]},
        {"crises": [CrisisSpec("澄星", "澄星电水壶", "产品质量", END - timedelta(days=8))]},
        {"crises": [CrisisSpec("澄星", "澄星电水壶", "产品质量", datetime(2026, 11, 18, 10))]},
        {"surge": SurgeSpec(END + timedelta(hours=1))},
        {"surge": SurgeSpec(END - timedelta(days=1), multiplier=0.5)},
        {"surge": SurgeSpec(END - timedelta(days=1), hours=0)},
        {"surge": SurgeSpec(datetime(2026, 11, 18, 20))},
    ],
)
def test_bad_specs_raise_value_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        generate_week(1, END, **kwargs)  # type: ignore[arg-type]


def test_every_drill_scenario_is_one_the_generator_makes(clean_settings: pytest.MonkeyPatch) -> None:
    for name, drill in load_drills().scenarios.items():
        assert drill.product in LEXICON["brands"][drill.brand]["products"], name
        spec = CrisisSpec(drill.brand, drill.product, drill.category, END - timedelta(hours=2), drill.size,
                          drill.expected_level)
        week = generate_week(drill.seed, END, days=1, crises=[spec])
        assert len(crisis_posts(week, week.crises[0], 2)) >= 10, name
