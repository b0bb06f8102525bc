"""Orders files and money parsing (tasks/compensation/orders.py): every bad row named, nothing half-loaded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tasks.compensation.orders import load_orders, yuan_to_fen
from tasks.errors import OrdersFileInvalid

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = "order_id,customer_id,product,sku,amount_yuan,paid_at,status"
GOOD_ROWS = [
    "A001,C001,澄星空气炸锅,SKU-1,\"¥1,299.00\",2025-11-20 10:00:00,paid",
    "A002,C002,青禾坚果礼盒,SKU-2,=\"89.90\",2025-11-20T03:00:00+00:00,completed",
]


def write(tmp_path: Path, rows: list[str], encoding: str = "utf-8", header: str = HEADER) -> Path:
    path = tmp_path / f"orders-{encoding}.csv"
    path.write_bytes("\n".join([header, *rows, ""]).encode(encoding))
    return path


@pytest.mark.parametrize(
    "text, fen",
    [("¥1,234.56", 123456), ("12.345", 1235), ("12.344", 1234), ("0.005", 1), ("0.004", 0),
     ('="299.00"', 29900), ("￥ 20 ", 2000), ("20元", 2000), ("0", 0)],
)
def test_yuan_amounts_become_integer_fen_rounded_half_up(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["abc", "-1", "", "¥-0.01", "12.3.4"])
def test_what_is_not_money_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        yuan_to_fen(text)


@pytest.mark.parametrize("text", ["NaN", "Infinity"])
def test_special_decimal_words_are_not_money(text: str) -> None:
    with pytest.raises(ValueError):
        yuan_to_fen(text)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chinese_orders_load_in_every_common_encoding(tmp_path: Path, encoding: str) -> None:
    frame = load_orders(write(tmp_path, GOOD_ROWS, encoding), SHANGHAI)
    assert list(frame["order_id"]) == ["A001", "A002"]
    assert list(frame["product"]) == ["澄星空气炸锅", "青禾坚果礼盒"]
    assert list(frame["amount_fen"]) == [129900, 8990]


def test_naive_paid_at_is_shanghai_time_and_stored_in_utc(tmp_path: Path) -> None:
    frame = load_orders(write(tmp_path, GOOD_ROWS), SHANGHAI)
    assert frame["paid_at"][0] == datetime(2025, 11, 20, 2, 0, tzinfo=UTC)
    assert frame["paid_at"][1] == datetime(2025, 11, 20, 3, 0, tzinfo=UTC)


def test_status_is_read_case_insensitively(tmp_path: Path) -> None:
    frame = load_orders(write(tmp_path, ["A1,C1,,,10,2025-11-20 10:00,Refunded"]), SHANGHAI)
    assert list(frame["status"]) == ["refunded"]


def test_every_bad_row_is_named_and_nothing_is_returned(tmp_path: Path) -> None:
    path = write(tmp_path, [
        GOOD_ROWS[0],
        "A002,,青禾牛奶,SKU-3,10.00,2025-11-20 10:00,paid",          # line 3: no customer
        "A003,C003,青禾牛奶,SKU-3,10.00,2025-11-20 10:00,paid",      # line 4: good
        "A004,C004,青禾牛奶,SKU-3,十元,2025-11-20 10:00,paid",        # line 5: bad amount
        "A001,C005,青禾牛奶,SKU-3,10.00,2025-11-20 10:00,paid",      # line 6: duplicate order
        "A006,C006,青禾牛奶,SKU-3,10.00,昨天,paid",                   # line 7: bad date
        "A007,C007,青禾牛奶,SKU-3,10.00,2025-11-20 10:00,lost",      # line 8: bad status
    ])
    with pytest.raises(OrdersFileInvalid) as caught:
        load_orders(path, SHANGHAI)
    message = str(caught.value)
    assert str(path) in message
    assert f"{path}:3: customer_id" in message
    assert f"{path}:5: amount_yuan" in message
    assert f"{path}:6: order_id: 重复（A001）" in message
    assert f"{path}:7: paid_at" in message
    assert f"{path}:8: status" in message
    assert f"{path}:2:" not in message and f"{path}:4:" not in message
    assert len(caught.value.problems) == 5


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    header = "order_id,product,sku,amount_yuan,paid_at,status"
    path = write(tmp_path, ["A1,,,10,2025-11-20 10:00,paid"], header=header)
    with pytest.raises(OrdersFileInvalid, match="缺少 generic 格式（通用格式）所需的列：customer_id"):
        load_orders(path, SHANGHAI)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(OrdersFileInvalid, match="nope.csv: 文件不存在"):
        load_orders(tmp_path / "nope.csv", SHANGHAI)


def test_empty_paid_at_is_a_bad_row(tmp_path: Path) -> None:
    with pytest.raises(OrdersFileInvalid, match=":2: paid_at"):
        load_orders(write(tmp_path, ["A1,C1,,,10,,paid"]), SHANGHAI)


def test_nan_amount_is_a_bad_row(tmp_path: Path) -> None:
    with pytest.raises(OrdersFileInvalid, match=":2: amount_yuan"):
        load_orders(write(tmp_path, ["A1,C1,,,NaN,2025-11-20 10:00,paid"]), SHANGHAI)
