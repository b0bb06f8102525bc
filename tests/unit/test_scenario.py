"""Tests of the simulated chatter generator (tasks/scenario/): pure, deterministic, realistic enough, lexicon-driven."""

from __future__ import annotations

import ast
import csv
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from config.files import clear_caches
from tasks.scenario.files import write_mentions, write_orders
from tasks.scenario.orders import ORDER_FIELDS
from tasks.scenario.vocabulary import PLATFORM_SLUG
from tasks.scenario.week import Scenario, generate_scenario

ROOT = Path(__file__).resolve().parents[2]
LEXICON = tomllib.loads((ROOT / "config" / "lexicon.toml").read_text(encoding="utf-8"))
CATEGORIES: dict[str, list[str]] = {name: rule["any"] for name, rule in LEXICON["categories"].items()}
ALL_TERMS = [term for terms in CATEGORIES.values() for term in terms]
SHANGHAI = timezone(timedelta(hours=8))
END = datetime(2025, 11, 20, 18, 30, 15, 250_000, tzinfo=SHANGHAI)
SEED = 7


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """Return the default scenario of the tests."""
    return generate_scenario(SEED, END)


def published(row: dict[str, object]) -> datetime:
    """Return a mention's publication time in UTC."""
    return datetime.fromisoformat(str(row["published_at"])).astimezone(UTC)


def brand_of(text: str) -> str | None:
    """Return the brand a text names, as the analysis decides (products first, then aliases)."""
    for brand, entry in LEXICON["brands"].items():
        if any(product in text for product in entry["products"]):
            return brand
    for brand, entry in LEXICON["brands"].items():
        if any(alias in text for alias in entry["aliases"]):
            return brand
    return None


def category_of(text: str) -> str | None:
    """Return the category with the most matching terms (config order breaks ties)."""
    best, best_hits = None, 0
    for name, terms in CATEGORIES.items():
        hits = sum(1 for term in terms if term in text)
        if hits > best_hits:
            best, best_hits = name, hits
    return best


def has_any(text: str, terms: Iterable[str]) -> bool:
    """Tell whether the text holds one of the terms."""
    return any(term in text for term in terms)


def max_in_window(times: list[datetime], width: timedelta) -> int:
    """Return the largest number of the sorted times inside any window [t, t + width)."""
    best, left = 0, 0
    for right, moment in enumerate(times):
        while moment - times[left] >= width:
            left += 1
        best = max(best, right - left + 1)
    return best


def times_where(scenario: Scenario, keep: Callable[[str], bool]) -> list[datetime]:
    """Return the sorted times of the mentions whose text passes `keep`."""
    return sorted(published(row) for row in scenario.mentions if keep(str(row["text"])))


def is_crisis_post(scenario: Scenario) -> Callable[[str], bool]:
    """Return a test for posts naming the crisis product with a term of the crisis category."""
    terms = CATEGORIES[scenario.category]
    return lambda text: scenario.product in text and has_any(text, terms)


def test_same_seed_and_arguments_give_identical_output(scenario: Scenario) -> None:
    again = generate_scenario(SEED, END)
    assert again == scenario
    other = generate_scenario(SEED + 1, END)
    assert {row["id"] for row in other.mentions}.isdisjoint({row["id"] for row in scenario.mentions})
    assert {row["order_id"] for row in other.orders}.isdisjoint({row["order_id"] for row in scenario.orders})
    assert [row["text"] for row in other.mentions[:50]] != [row["text"] for row in scenario.mentions[:50]]


def test_rows_are_canonical_with_unique_ids(scenario: Scenario) -> None:
    ids = [row["id"] for row in scenario.mentions]
    assert len(ids) == len(set(ids))
    for row in scenario.mentions:
        assert list(row) == ["id", "text", "author", "reach", "published_at", "url", "platform"]
        assert re.fullmatch(rf"s{SEED}-\d{{6}}", str(row["id"]))
        assert row["platform"] in PLATFORM_SLUG
        assert row["url"] == f"https://example.com/{PLATFORM_SLUG[str(row['platform'])]}/{row['id']}"
        assert str(row["text"]).strip() and str(row["author"]).strip()
    assert set(PLATFORM_SLUG) == {row["platform"] for row in scenario.mentions}


def test_times_lie_in_the_range_sorted_and_in_shanghai_time(scenario: Scenario) -> None:
    assert scenario.end == datetime(2025, 11, 20, 10, 30, 15, tzinfo=UTC)
    assert scenario.start == scenario.end - timedelta(days=7)
    assert scenario.crisis_start == datetime(2025, 11, 16, 10, tzinfo=UTC)
    times = [published(row) for row in scenario.mentions]
    assert all(str(row["published_at"]).endswith("+08:00") for row in scenario.mentions)
    assert times == sorted(times)
    assert scenario.start <= times[0] and times[-1] <= scenario.end


def test_ordinary_chatter_has_volume_variety_and_a_day_rhythm(scenario: Scenario) -> None:
    before = [row for row in scenario.mentions if published(row) < scenario.crisis_start]
    hours = (scenario.crisis_start - scenario.start) / timedelta(hours=1)
    per_brand = Counter(brand_of(str(row["text"])) for row in before)
    assert set(per_brand) == set(LEXICON["brands"])
    assert all(3 <= count / hours <= 8 for count in per_brand.values())
    by_hour = Counter(published(row).astimezone(SHANGHAI).hour for row in before)
    assert sum(by_hour[h] for h in range(1, 6)) * 2 < sum(by_hour[h] for h in range(12, 17))
    texts = [str(row["text"]) for row in before]
    assert len(set(texts)) > 0.6 * len(texts)
    assert sum(not has_any(text, ALL_TERMS) for text in texts) > 0.8 * len(texts)


def test_reach_is_mostly_small_with_a_few_kols(scenario: Scenario) -> None:
    reach = [int(str(row["reach"])) for row in scenario.mentions]
    assert all(50 <= value <= 800_000 for value in reach)
    assert sum(value <= 5000 for value in reach) > 0.95 * len(reach)
    assert any(value >= 50_000 for value in reach)
    assert len({row["author"] for row in scenario.mentions}) > 300


def test_crisis_concentrates_after_its_start(scenario: Scenario) -> None:
    times = times_where(scenario, is_crisis_post(scenario))
    start = scenario.crisis_start
    after = sum(start <= t < start + timedelta(hours=3) for t in times)
    before = max_in_window([t for t in times if t < start], timedelta(hours=3))
    assert after > 5 * max(before, 1)
    assert 8 <= sum(start <= t < start + timedelta(minutes=30) for t in times) <= 25
    assert 25 <= sum(start <= t < start + timedelta(hours=1) for t in times) <= 60
    assert 45 <= sum(start + timedelta(hours=1) <= t < start + timedelta(hours=2) for t in times) <= 80


def test_crisis_has_kols_and_reposts(scenario: Scenario) -> None:
    early = [
        row for row in scenario.mentions
        if scenario.crisis_start <= published(row) < scenario.crisis_start + timedelta(hours=3)
        and is_crisis_post(scenario)(str(row["text"]))
    ]
    assert 2 <= sum(int(str(row["reach"])) >= 300_000 for row in early) <= 3
    reposts = [str(row["text"]) for row in scenario.mentions if "//@" in str(row["text"])]
    assert len(reposts) >= 20
    assert all(scenario.product in text for text in reposts)
    originals = {str(row["text"]) for row in scenario.mentions}
    assert all(text.split(": ", 1)[1] in originals for text in reposts)


def test_crisis_is_over_after_a_day_and_a_half(scenario: Scenario) -> None:
    calm_from = scenario.crisis_start + timedelta(hours=36)
    times = [t for t in times_where(scenario, is_crisis_post(scenario)) if t >= calm_from]
    assert max_in_window(times, timedelta(hours=3)) <= 4


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_outside_the_crisis_each_brand_stays_calm(seed: int) -> None:
    scenario = generate_scenario(seed, END)
    crisis = (scenario.crisis_start - timedelta(hours=1), scenario.crisis_start + timedelta(hours=36))
    for brand in LEXICON["brands"]:
        times = times_where(scenario, lambda text, b=brand: brand_of(text) == b and has_any(text, ALL_TERMS))
        if brand == scenario.brand:
            times = [t for t in times if not crisis[0] < t < crisis[1]]
        assert max_in_window(times, timedelta(minutes=60)) <= 4, brand


@pytest.mark.parametrize(
    ("brand", "product", "category"),
    [
        ("澄星", "澄星空气炸锅", "产品质量"),
        ("澄星", "澄星电水壶", "人身安全/食品安全"),
        ("青禾", "青禾牛奶", "人身安全/食品安全"),
        ("青禾", "青禾坚果礼盒", "产品质量"),
        ("木棉优选", "木棉四件套", "产品质量"),
        ("木棉优选", "木棉毛巾", "售后服务"),
        ("青禾", "青禾燕麦片", "物流配送"),
        ("澄星", "澄星破壁机", "价格/虚假宣传"),
        ("木棉优选", "木棉羽绒被", "个人信息泄露"),
    ],
)
def test_crisis_posts_fall_into_the_intended_category(brand: str, product: str, category: str) -> None:
    scenario = generate_scenario(11, END, days=5, crisis_brand=brand, crisis_product=product,
                                 crisis_category=category, orders=0)
    window = (scenario.crisis_start, scenario.crisis_start + timedelta(hours=6))
    texts = [str(row["text"]) for row in scenario.mentions if window[0] <= published(row) < window[1]]
    crisis = [text for text in texts if product in text and has_any(text, CATEGORIES[category])]
    assert len(crisis) >= 150
    assert all(brand_of(text) == brand for text in crisis)
    assert sum(category_of(text) == category for text in crisis) >= 0.97 * len(crisis)


def test_orders_are_well_formed(scenario: Scenario) -> None:
    orders = scenario.orders
    assert len(orders) == 240
    assert len({row["order_id"] for row in orders}) == 240
    assert all(re.fullmatch(rf"O{SEED:05d}\d{{6}}", str(row["order_id"])) for row in orders)
    assert all(list(row) == list(ORDER_FIELDS) for row in orders)
    for row in orders:
        assert row["product"] == "澄星空气炸锅" and re.fullmatch(r"CX-AF-0[12]", str(row["sku"]))
        assert re.fullmatch(r"\d{3}\.\d{2}", str(row["amount_yuan"]))
        assert Decimal("199.00") <= Decimal(str(row["amount_yuan"])) <= Decimal("499.00")
        paid_at = datetime.fromisoformat(str(row["paid_at"]))
        assert str(row["paid_at"]).endswith("+08:00")
        assert scenario.crisis_start - timedelta(days=30) <= paid_at < scenario.crisis_start
        assert re.fullmatch(r"C\d+", str(row["customer_id"]))
    statuses = Counter(str(row["status"]) for row in orders)
    assert set(statuses) == {"paid", "refunded", "cancelled"}
    assert statuses["paid"] > 0.85 * len(orders)
    per_customer = Counter(str(row["customer_id"]) for row in orders)
    assert max(per_customer.values()) == 2
    assert 0.05 <= sum(n == 2 for n in per_customer.values()) / len(per_customer) <= 0.15


def test_written_files_read_back_equal(scenario: Scenario, tmp_path: Path) -> None:
    mentions_path, orders_path = tmp_path / "inbox" / "mentions.jsonl", tmp_path / "orders.csv"
    write_mentions(scenario, mentions_path)
    write_orders(scenario, orders_path)
    raw = mentions_path.read_text(encoding="utf-8")
    assert "澄星" in raw and raw.endswith("\n")
    assert [json.loads(line) for line in raw.splitlines()] == scenario.mentions
    with orders_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == list(ORDER_FIELDS)
        assert list(reader) == scenario.orders


def test_a_late_crisis_is_cut_at_the_end() -> None:
    end = datetime(2025, 11, 20, 10, tzinfo=UTC)
    scenario = generate_scenario(5, end, days=2, crisis_start=end - timedelta(hours=2), orders=10)
    times = times_where(scenario, is_crisis_post(scenario))
    assert times[-1] <= end and sum(t >= end - timedelta(hours=2) for t in times) >= 60
    assert len(scenario.orders) == 10


@pytest.mark.parametrize(
    "kwargs",
    [
        {"end": datetime(2025, 11, 20, 10)},
        {"crisis_start": END + timedelta(minutes=1)},
        {"crisis_start": END - timedelta(days=8)},
        {"crisis_start": datetime(2025, 11, 18, 10)},
        {"days": 3},
        {"days": 0},
        {"crisis_brand": "无名"},
        {"crisis_product": "青禾牛奶"},
        {"crisis_category": "天气"},
        {"orders": -1},
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"end": END, **kwargs}
    with pytest.raises(ValueError):
        generate_scenario(1, **arguments)  # type: ignore[arg-type]


def test_brands_and_products_come_from_the_lexicon(clean_settings: pytest.MonkeyPatch, tmp_path: Path) -> None:
    copy = tmp_path / "config"
    shutil.copytree(ROOT / "config", copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    text = (copy / "lexicon.toml").read_text(encoding="utf-8")
    text = text.replace('[brands."青禾"]', '[brands."星河"]\naliases = ["星河", "星河数码"]\n'
                        'products = ["星河手机", "星河耳机"]\n\n[brands."青禾"]')
    text = text.replace('products = ["木棉四件套", "木棉羽绒被", "木棉毛巾"]', "products = []")
    (copy / "lexicon.toml").write_text(text, encoding="utf-8")
    clean_settings.setenv("CRISIS_CONFIG_DIR", str(copy))
    clear_caches()
    scenario = generate_scenario(SEED, END, crisis_brand="星河", crisis_product="星河耳机",
                                 crisis_category="人身安全/食品安全", orders=20)
    texts = [str(row["text"]) for row in scenario.mentions]
    assert all(any(product in t for t in texts) for product in ("星河手机", "星河耳机", "澄星电水壶", "青禾牛奶"))
    assert not any("木棉" in t for t in texts)
    ordinary = [t for row, t in zip(scenario.mentions, texts, strict=True)
                if published(row) < scenario.crisis_start and "星河" in t]
    assert len(ordinary) > 200 and sum(not has_any(t, ALL_TERMS) for t in ordinary) > 0.8 * len(ordinary)
    crisis = times_where(scenario, is_crisis_post(scenario))
    assert sum(scenario.crisis_start <= t < scenario.crisis_start + timedelta(hours=1) for t in crisis) >= 25
    in_crisis = [t for t in texts if "星河耳机" in t and has_any(t, CATEGORIES[scenario.category])]
    assert sum(category_of(t) == scenario.category for t in in_crisis) >= 0.97 * len(in_crisis)
    assert {row["product"] for row in scenario.orders} == {"星河耳机"}
    assert all(re.fullmatch(r"SKU-[0-9A-F]{8}-0[12]", str(row["sku"])) for row in scenario.orders)
    assert generate_scenario(SEED, END, crisis_brand="星河", crisis_product="星河耳机",
                             crisis_category="人身安全/食品安全", orders=20) == scenario
    with pytest.raises(ValueError, match="unknown crisis_brand '木棉优选'"):
        generate_scenario(SEED, END, crisis_brand="木棉优选", crisis_product="木棉毛巾")


def test_the_generator_imports_only_the_standard_library_itself_and_the_lexicon_loader() -> None:
    outside: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tasks" / "scenario").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        foreign = {name for name in modules if name.split(".")[0] not in sys.stdlib_module_names
                   and name != "__future__" and not name.startswith("tasks.scenario.")}
        if foreign:
            outside[path.name] = foreign
    assert outside == {"catalogue.py": {"config.files"}, "week.py": {"tasks.incidents.state"}}
    forbidden = "{'prefect', 'sqlalchemy', 'yagmail', 'httpx', 'requests'}"
    modules = ", ".join(f"tasks.scenario.{path.stem}" for path in (ROOT / "tasks" / "scenario").glob("*.py"))
    probe = f"import sys, {modules}; print(sorted({forbidden} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
