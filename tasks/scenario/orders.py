"""Simulated orders of a crisis product (the customers a compensation run would reach). Pure.

Paid in the 30 days before the crisis, 199.00-499.00 yuan, ~5% refunded and ~3% cancelled, about 10% of
customers with two orders; deterministic for a seed.
"""

from __future__ import annotations

import random
import zlib
from datetime import UTC, datetime, timedelta

from tasks.scenario.catalogue import load_catalogue
from tasks.scenario.vocabulary import SHANGHAI, SKU_PREFIX

ORDER_FIELDS = ("order_id", "customer_id", "product", "sku", "amount_yuan", "paid_at", "status")
MIN_PRICE_CENTS = 19900
PRICES_CENTS = ((19900, 22900, 25900, 26990, 29900), (33900, 36900, 39900, 42990, 45900, 49900))


def generate_orders(seed: int, product: str, count: int, onset: datetime) -> list[dict[str, object]]:
    """Return `count` orders of `product` (a product of the lexicon) paid in the 30 days before `onset`
    (aware), deterministic for a seed. Raise ValueError for bad arguments."""
    if onset.tzinfo is None or onset.utcoffset() is None:
        raise ValueError("onset must be timezone-aware")
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if not load_catalogue().has_product(product):
        raise ValueError(f"unknown product {product!r}")
    return order_rows(random.Random(seed), seed, product, count, onset.astimezone(UTC).replace(microsecond=0))


def order_rows(
    rng: random.Random, seed: int, product: str, count: int, onset: datetime
) -> list[dict[str, object]]:
    """Return `count` orders of the product paid in the 30 days before the crisis, sorted by time."""
    customers = _customers(rng, count)
    statuses = _statuses(rng, count)
    times = sorted(onset - timedelta(seconds=rng.randint(60, 30 * 86400)) for _ in range(count))
    rows: list[dict[str, object]] = []
    for n, (paid_at, customer, status) in enumerate(zip(times, customers, statuses, strict=True), start=1):
        sku, amount = _sku_and_amount(rng, product)
        rows.append({
            "order_id": f"O{seed % 100000:05d}{n:06d}", "customer_id": customer, "product": product,
            "sku": sku, "amount_yuan": amount,
            "paid_at": paid_at.astimezone(SHANGHAI).isoformat(timespec="seconds"), "status": status,
        })
    return rows


def _customers(rng: random.Random, count: int) -> list[str]:
    """Return one customer id per order; about 10% of customers have two orders."""
    repeat = round(count / 11) if count >= 2 else 0
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < count - repeat:
        customer = f"C{rng.randint(10_000_000, 99_999_999)}"
        if customer not in seen:
            seen.add(customer)
            ids.append(customer)
    ids += ids[:repeat]
    rng.shuffle(ids)
    return ids


def _statuses(rng: random.Random, count: int) -> list[str]:
    """Return one status per order: ~5% refunded, ~3% cancelled, the rest paid."""
    statuses = ["paid"] * count
    picked = rng.sample(range(count), round(count * 0.05) + round(count * 0.03))
    refunded = round(count * 0.05)
    for position, index in enumerate(picked):
        statuses[index] = "refunded" if position < refunded else "cancelled"
    return statuses


def _sku_prefix(product: str) -> str:
    """Return the product's SKU prefix; a product new to the lexicon gets one from its name's CRC-32
    (stable across runs, unlike hash())."""
    return SKU_PREFIX.get(product) or f"SKU-{zlib.crc32(product.encode('utf-8')):08X}"


def _sku_and_amount(rng: random.Random, product: str) -> tuple[str, str]:
    """Return a SKU of the product and a paid amount in yuan (199.00-499.00, two decimals)."""
    variant = rng.choice((1, 2))
    prices = PRICES_CENTS[variant - 1]
    coupon = rng.choice((0, 0, 0, 500, 1000, 2000, 3000)) + rng.choice((0, 0, 50))
    cents = max(MIN_PRICE_CENTS, rng.choice(prices) - coupon)
    return f"{_sku_prefix(product)}-{variant:02d}", f"{cents // 100}.{cents % 100:02d}"
