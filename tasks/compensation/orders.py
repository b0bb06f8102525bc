"""Load and validate an orders file (generic CSV format) into a DataFrame, or name every bad row.

Columns: order_id, customer_id, product, sku, amount_yuan (¥ and thousands separators allowed),
paid_at (ISO 8601; naive = Asia/Shanghai), status (paid | shipped | completed | refunded | cancelled).
Excel-protected values (="123…") are unwrapped. Nothing is returned unless every row is valid.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from tasks.errors import OrdersFileInvalid

REQUIRED = ("order_id", "customer_id", "amount_yuan", "paid_at", "status")
STATUSES = {"paid", "shipped", "completed", "refunded", "cancelled"}
_EXCEL_WRAPPED = re.compile(r'^="(.*)"$')
_MONEY_NOISE = re.compile(r"[¥￥,，\s]|元$|^RMB|^CNY")


def unwrap(value: str) -> str:
    """Strip whitespace and Excel's ="…" protection."""
    value = value.strip()
    match = _EXCEL_WRAPPED.match(value)
    return match.group(1).strip() if match else value


def yuan_to_fen(text: str) -> int:
    """Convert a yuan amount to integer fen, rounding half up at the fen (ValueError when not money)."""
    cleaned = _MONEY_NOISE.sub("", unwrap(text))
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not an amount ({text!r})") from None
    if amount < 0:
        raise ValueError(f"negative amount ({text!r})")
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _read(path: Path) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise OrdersFileInvalid(str(path), ["the file is neither UTF-8 nor GB18030 text"])


def load_orders(path: Path, timezone: ZoneInfo) -> pd.DataFrame:
    """Return the validated orders (amount_fen int, paid_at UTC) or raise OrdersFileInvalid naming each bad row."""
    if not path.is_file():
        raise OrdersFileInvalid(str(path), ["file not found"])
    frame = _read(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise OrdersFileInvalid(str(path), [f"header: missing column(s) {', '.join(missing)}"])
    problems: list[str] = []
    rows = []
    seen: set[str] = set()
    for number, record in enumerate(frame.to_dict("records"), start=2):
        try:
            rows.append(_validate(record, seen, timezone))
        except ValueError as exc:
            problems.append(f"{path}:{number}: {exc}")
    if problems:
        raise OrdersFileInvalid(str(path), problems)
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "product", "sku", "amount_fen", "paid_at", "status"])


def _validate(record: dict[str, str], seen: set[str], timezone: ZoneInfo) -> dict[str, object]:
    order_id = unwrap(record["order_id"])
    if not order_id:
        raise ValueError("order_id: missing")
    if order_id in seen:
        raise ValueError(f"order_id: duplicate ({order_id})")
    seen.add(order_id)
    customer_id = unwrap(record["customer_id"])
    if not customer_id:
        raise ValueError("customer_id: missing")
    try:
        amount_fen = yuan_to_fen(record["amount_yuan"])
    except ValueError as exc:
        raise ValueError(f"amount_yuan: {exc}") from None
    try:
        paid_at = pd.Timestamp(unwrap(record["paid_at"]))
    except ValueError:
        raise ValueError(f"paid_at: not a date-time ({record['paid_at']!r})") from None
    paid_at = paid_at.tz_localize(timezone) if paid_at.tzinfo is None else paid_at
    status = unwrap(record["status"]).lower()
    if status not in STATUSES:
        raise ValueError(f"status: unknown ({record['status']!r}; expected one of {', '.join(sorted(STATUSES))})")
    return {
        "order_id": order_id, "customer_id": customer_id, "product": unwrap(record.get("product", "")),
        "sku": unwrap(record.get("sku", "")), "amount_fen": amount_fen,
        "paid_at": paid_at.tz_convert("UTC").to_pydatetime(), "status": status,
    }
