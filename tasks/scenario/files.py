"""Write generated mentions (canonical JSONL, what a file source reads) and orders (UTF-8 CSV) to disk."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from tasks.scenario.orders import ORDER_FIELDS
from tasks.scenario.week import Scenario, Week


def write_mentions(scenario: Scenario | Week, path: Path) -> None:
    """Write the mentions of a scenario or a week (see write_mention_rows)."""
    write_mention_rows(scenario.mentions, path)


def write_mention_rows(rows: Sequence[dict[str, object]], path: Path) -> None:
    """Write canonical mention rows as JSONL (UTF-8, one object per line, Chinese kept readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_orders(scenario: Scenario, path: Path) -> None:
    """Write the scenario's orders as UTF-8 CSV (see write_orders_rows)."""
    write_orders_rows(scenario.orders, path)


def write_orders_rows(orders: list[dict[str, object]], path: Path) -> None:
    """Write orders as UTF-8 CSV with the header order_id,customer_id,product,sku,amount_yuan,..."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ORDER_FIELDS)
        writer.writeheader()
        writer.writerows(orders)
