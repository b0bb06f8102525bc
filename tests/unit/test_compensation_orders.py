"""Real order exports (tasks/compensation/orders.py, formats.py): Taobao/Tmall, JD and generic columns, every
common encoding, Excel's ="…" protection, money with currency signs, and every kind of bad input named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest

from tasks.compensation.formats import detect_format
from tasks.compensation.orders import amounts_to_fen, load_orders, validate_orders, yuan_to_fen
from tasks.errors import OrdersFileInvalid

SHANGHAI = ZoneInfo("Asia/Shanghai")
TAOBAO_HEADER = ("订单编号,买家会员名,买家实际支付金额,订单状态,订单付款时间,订单创建时间,宝贝标题,"
                 "商家编码,收货人姓名")
TAOBAO_ROWS = [
    '="4242000000000000001",tb小橘子,"￥1,299.00",交易成功,2025-11-20 10:00:00,2025-11-20 09:58:00,'
    '澄星空气炸锅5L,CX-AF-01,张三',
    '="4242000000000000002",tb阿May,89.9,"卖家已发货，等待买家确认",2025/11/21 08:30:00,'
    '2025/11/21 08:29:00,青禾坚果礼盒,QH-NUT-1,李四',
    '="4242000000000000003",tb老王,0.00,交易关闭,,2025-11-22 12:00:00,澄星空气炸锅5L,CX-AF-02,王五',
    '="4242000000000000004",tb土豆,299.00,退款成功,2025-11-22 13:00:00,2025-11-22 12:59:00,'
    '澄星空气炸锅5L,CX-AF-01,赵六',
]
JD_HEADER = "订单号,下单帐号,应付金额,付款时间,订单状态,商品名称,商品ID,客户姓名"
JD_ROWS = [
    "310000001,jd_小鹿,￥459.00,2025-11-20 10:00:00,完成,澄星空气炸锅,100012345,刘一",
    "310000002,jd_豆包,199元,2025-11-20 11:00:00,等待出库,澄星空气炸锅,100012346,陈二",
    "310000003,jd_咸鱼,RMB 1299,,已取消,澄星空气炸锅,100012345,张三",
    "310000004,jd_芒果,88.00,2025-11-20 12:00:00,(删除),澄星空气炸锅,100012345,李四",
]


def write(tmp_path: Path, header: str, rows: list[str], encoding: str = "utf-8") -> Path:
    path = tmp_path / "orders.csv"
    path.write_bytes("\r\n".join([header, *rows, ""]).encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_taobao_export_loads_in_every_common_encoding(tmp_path: Path, encoding: str) -> None:
    frame = load_orders(write(tmp_path, TAOBAO_HEADER, TAOBAO_ROWS, encoding), SHANGHAI)
    assert list(frame["order_id"]) == [f"424200000000000000{n}" for n in range(1, 5)]  # ="…" unwrapped
    assert list(frame["customer_id"]) == ["tb小橘子", "tb阿May", "tb老王", "tb土豆"]
    assert list(frame["amount_fen"]) == [129900, 8990, 0, 29900]
    assert list(frame["status"]) == ["completed", "shipped", "cancelled", "refunded"]
    assert list(frame["sku"]) == ["CX-AF-01", "QH-NUT-1", "CX-AF-02", "CX-AF-01"]
    assert frame["product"][0] == "澄星空气炸锅5L"
    assert frame["paid_at"][0] == datetime(2025, 11, 20, 2, 0, tzinfo=UTC)
    assert frame["paid_at"][1] == datetime(2025, 11, 21, 0, 30, tzinfo=UTC)
    assert pd.isna(frame["paid_at"][2]), "a closed order without payment time is allowed"


def test_jd_export_is_detected_and_mapped(tmp_path: Path) -> None:
    frame = load_orders(write(tmp_path, JD_HEADER, JD_ROWS, "gbk"), SHANGHAI)
    assert list(frame["customer_id"]) == ["jd_小鹿", "jd_豆包", "jd_咸鱼", "jd_芒果"]
    assert list(frame["amount_fen"]) == [45900, 19900, 129900, 8800]
    assert list(frame["status"]) == ["completed", "paid", "cancelled", "cancelled"]
    assert list(frame["sku"]) == ["100012345", "100012346", "100012345", "100012345"]


def test_format_is_detected_from_the_header_or_named(tmp_path: Path) -> None:
    assert detect_format(TAOBAO_HEADER.split(","))[0].name == "taobao"
    assert detect_format(JD_HEADER.split(","))[0].name == "jd"
    assert detect_format("order_id,customer_id,amount_yuan,paid_at,status".split(","))[0].name == "generic"
    with pytest.raises(OrdersFileInvalid, match="缺少 jd 格式（京东商家后台导出）所需的列"):
        load_orders(write(tmp_path, TAOBAO_HEADER, TAOBAO_ROWS), SHANGHAI, orders_format="jd")


def test_xlsx_export_reads_typed_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(JD_HEADER.split(","))
    sheet.append([310000001, "jd_小鹿", 459.5, datetime(2025, 11, 20, 10, 0), "完成", "澄星空气炸锅",
                  100012345, "刘一"])
    sheet.append(["310000002", "jd_豆包", "¥1,299.00", "2025-11-20 11:00:00", "等待出库", "澄星空气炸锅",
                  "1", "陈二"])
    book.save(tmp_path / "jd.xlsx")
    frame = load_orders(tmp_path / "jd.xlsx", SHANGHAI)
    assert list(frame["order_id"]) == ["310000001", "310000002"]
    assert list(frame["amount_fen"]) == [45950, 129900]
    assert frame["paid_at"][0] == datetime(2025, 11, 20, 2, 0, tzinfo=UTC)


def test_operators_can_name_a_platform_status_the_built_in_list_lacks(tmp_path: Path) -> None:
    rows = ["310000001,jd_小鹿,459,2025-11-20 10:00:00,锁定,澄星空气炸锅,1,刘一"]
    with pytest.raises(OrdersFileInvalid, match="订单状态 \\(status\\): 无法识别（锁定；可用："):
        load_orders(write(tmp_path, JD_HEADER, rows), SHANGHAI)
    frame = load_orders(write(tmp_path, JD_HEADER, rows), SHANGHAI, status_words={"锁定": "refunded"})
    assert list(frame["status"]) == ["refunded"]


@pytest.mark.parametrize("text, fen", [
    ("1.005", 101), ("2.675", 268), ("0.015", 2), ("1.0049", 100), ("1.00500", 101), ("19.999", 2000),
    ("¥1,234.5", 123450), ("1，299.00", 129900), ("CNY 20", 2000), ("999999999999.99", 99999999999999),
])
def test_amounts_round_half_up_at_the_fen_exactly(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


def test_amounts_are_checked_on_the_whole_column() -> None:
    fen, why = amounts_to_fen(pd.Series(["12.5", "abc", "-3", "", "1e3", "7"]))
    assert list(fen) == [1250, 0, 0, 0, 0, 700]
    assert list(why) == ["", "不是金额（'abc'）", "金额为负（'-3'）", "缺失",
                         "不是金额（'1e3'）", ""]


def test_every_bad_row_is_named_once_with_each_bad_field(tmp_path: Path) -> None:
    rows = [
        TAOBAO_ROWS[0],
        '="4242000000000000002",,89.9,交易成功,2025-11-21 08:30:00,,青禾,,',     # line 3: customer missing
        '="4242000000000000001",tb乙,免费,交易成功,明天,,青禾,,',                 # line 4: dup, amount, time
        '="4242000000000000005",tb丙,-5,已发货,,,青禾,,',                         # line 5: amount, no time
        '="4242000000000000006",tb丁,5,丢件,2025-11-21 08:30:00,,青禾,,',         # line 6: status
        ',tb戊,5,交易成功,2025-11-21 08:30:00,,青禾,,',                          # line 7: order missing
    ]
    path = write(tmp_path, TAOBAO_HEADER, rows, "gb18030")
    with pytest.raises(OrdersFileInvalid) as caught:
        load_orders(path, SHANGHAI)
    problems = caught.value.problems
    assert problems == [
        f"{path}:3: 买家会员名 (customer_id): 缺失",
        f"{path}:4: 订单编号 (order_id): 重复（4242000000000000001）; "
        "买家实际支付金额 (amount): 不是金额（'免费'）; 订单付款时间 (paid_at): 不是有效的日期时间（明天）",
        f"{path}:5: 买家实际支付金额 (amount): 金额为负（'-5'）; 订单付款时间 (paid_at): 缺失",
        f"{path}:6: 订单状态 (status): 无法识别（丢件；可用：unpaid, paid, shipped, completed, refunded, "
        "cancelled，或 config/compensation.toml [statuses] 中添加的词）",
        f"{path}:7: 订单编号 (order_id): 缺失",
    ]
    assert "5 行有误，未做任何处理" in str(caught.value)


def test_thousands_of_bad_rows_are_all_named(tmp_path: Path) -> None:
    raw = pd.DataFrame({"order_id": [f"A{i}" for i in range(5000)], "customer_id": "C", "amount_yuan": "x",
                        "paid_at": "2025-11-20 10:00:00", "status": "paid"})
    with pytest.raises(OrdersFileInvalid) as caught:
        validate_orders(raw, "big.csv", SHANGHAI)
    assert len(caught.value.problems) == 5000
    assert caught.value.problems[-1] == "big.csv:5001: amount_yuan: 不是金额（'x'）"
    assert "另有 4950 处" in str(caught.value)


def test_rows_with_the_wrong_number_of_fields_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "order_id,customer_id,amount_yuan,paid_at,status",
                 ["A1,C1,10,2025-11-20 10:00,paid", "A2,C2,10,2025-11-20 10:00,paid,extra", "A3,C3"])
    with pytest.raises(OrdersFileInvalid) as caught:
        load_orders(path, SHANGHAI)
    assert caught.value.problems == [f"{path}:3: row: 有 6 个字段，表头有 5 个",
                                     f"{path}:4: row: 有 2 个字段，表头有 5 个"]


def test_files_that_cannot_be_orders_are_named(tmp_path: Path) -> None:
    binary = tmp_path / "orders.csv"
    binary.write_bytes(b"order_id,customer_id\n\xff\xfe\x80\x81\xfe\xff\n")
    with pytest.raises(OrdersFileInvalid, match="文件编码既不是 UTF-8 也不是 GB18030/GBK"):
        load_orders(binary, SHANGHAI)
    (tmp_path / "orders.xls").write_bytes(b"old excel")
    with pytest.raises(OrdersFileInvalid, match="不支持的文件类型 '.xls'，请另存为 .csv 或 .xlsx"):
        load_orders(tmp_path / "orders.xls", SHANGHAI)
    with pytest.raises(OrdersFileInvalid, match="missing.csv: 文件不存在"):
        load_orders(tmp_path / "missing.csv", SHANGHAI)


def test_a_header_only_file_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(OrdersFileInvalid, match="只有表头，没有订单行；未做任何处理$"):
        load_orders(write(tmp_path, JD_HEADER, []), SHANGHAI)


def test_ids_wider_than_the_ledger_are_bad_rows_and_ids_as_wide_are_kept(tmp_path: Path) -> None:
    wide, widest = "4" * 64, "4" * 65
    rows = [f'="{wide}",tb买家,10,交易成功,2025-11-20 10:00:00,2025-11-20 09:58:00,澄星空气炸锅5L,CX,张三',
            f'="{widest}",tb买家2,10,交易成功,2025-11-20 10:00:00,2025-11-20 09:58:00,澄星空气炸锅5L,CX,李四',
            f'="42",{"买" * 65},10,交易成功,2025-11-20 10:00:00,2025-11-20 09:58:00,澄星空气炸锅5L,CX,王五']
    path = write(tmp_path, TAOBAO_HEADER, rows)
    with pytest.raises(OrdersFileInvalid) as refused:
        load_orders(path, SHANGHAI)
    assert [p.split(": ", 2)[:2] for p in refused.value.problems] == [
        [f"{path}:3", "订单编号 (order_id)"], [f"{path}:4", "买家会员名 (customer_id)"]]

    orders = load_orders(write(tmp_path, TAOBAO_HEADER, rows[:1]), SHANGHAI)
    assert orders["order_id"].tolist() == [wide]
