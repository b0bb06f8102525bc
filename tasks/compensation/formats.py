"""Order-export formats (订单导出格式): which header means which field, and what each status means. Pure.

Four formats are known: the project's generic CSV, the Taobao/Tmall seller-centre export (淘宝/天猫卖家中心),
Tmall's own order report (天猫订单报表: no customer and no status column; the status follows from the payment
time and 退款金额) and the JD merchant export (京东商家后台). `detect_format` picks one from the header; a
format can also be named explicitly. Statuses are mapped to unpaid | paid | shipped | completed | refunded | cancelled;
operators can add words for statuses a platform invents (config/compensation.toml, [statuses]).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FIELDS = ("order_id", "customer_id", "amount", "paid_at", "status", "product", "sku", "email", "phone", "refund")
REQUIRED = ("order_id", "customer_id", "amount", "paid_at", "status")
STATUSES = ("unpaid", "paid", "shipped", "completed", "refunded", "cancelled")
FORMAT_NAMES = ("auto", "generic", "taobao", "tmall", "jd")
CUSTOMER_COLUMNS = ("买家会员名", "买家昵称", "买家ID", "买家会员ID")


@dataclass(frozen=True)
class OrdersFormat:
    name: str
    title: str
    columns: Mapping[str, tuple[str, ...]]  # field -> header names it may have, the first present wins
    required: tuple[str, ...] = REQUIRED


GENERIC = OrdersFormat("generic", "通用格式", {
    "order_id": ("order_id",),
    "customer_id": ("customer_id",),
    "amount": ("amount_yuan", "amount"),
    "paid_at": ("paid_at",),
    "status": ("status",),
    "product": ("product",),
    "sku": ("sku",),
    "email": ("email",),
    "phone": ("phone", "mobile"),
})
TAOBAO = OrdersFormat("taobao", "淘宝/天猫卖家中心导出", {
    "order_id": ("订单编号", "主订单编号", "订单号"),
    "customer_id": CUSTOMER_COLUMNS,
    "amount": ("买家实际支付金额", "实付金额", "买家应付货款", "总金额"),
    "paid_at": ("订单付款时间", "付款时间", "订单创建时间"),
    "status": ("订单状态",),
    "product": ("宝贝标题", "商品标题", "宝贝名称"),
    "sku": ("商家编码", "商品编码", "SKU编码", "宝贝编号"),
    "email": ("买家邮箱", "邮箱", "电子邮箱"),
    "phone": ("联系手机", "收货人手机号", "手机号"),
})
# 天猫订单报表: paid = 订单付款时间 present; refunded = 退款金额 ≥ the amount paid. Without a customer
# column each order stands for its own customer, so only a per-order policy can use it.
TMALL = OrdersFormat("tmall", "天猫订单报表", {
    "order_id": ("订单编号",),
    "customer_id": CUSTOMER_COLUMNS,
    "amount": ("买家实际支付金额", "总金额"),
    "paid_at": ("订单付款时间",),
    "refund": ("退款金额",),
    "product": ("宝贝标题", "商品标题"),
    "sku": ("商家编码",),
    "email": ("买家邮箱",),
    "phone": ("联系手机",),
}, required=("order_id", "amount", "paid_at", "refund"))
JD = OrdersFormat("jd", "京东商家后台导出", {
    "order_id": ("订单号", "订单编号"),
    "customer_id": ("客户账号", "下单帐号", "下单账号", "用户账号", "客户帐号"),
    "amount": ("应付金额", "订单金额", "实付金额"),
    "paid_at": ("付款时间", "付款确认时间", "下单时间"),
    "status": ("订单状态",),
    "product": ("商品名称",),
    "sku": ("商品ID", "SKU", "sku", "商品编号"),
    "email": ("邮箱", "电子邮箱", "客户邮箱"),
    "phone": ("联系电话", "收货人手机", "手机号"),
})
FORMATS = {f.name: f for f in (GENERIC, TAOBAO, TMALL, JD)}

STATUS_WORDS: dict[str, str] = {
    **{s: s for s in STATUSES},
    # Taobao / Tmall
    "等待买家付款": "unpaid", "待付款": "unpaid",
    "买家已付款": "paid", "买家已付款，等待卖家发货": "paid", "买家已付款,等待卖家发货": "paid",
    "等待卖家发货": "paid", "待发货": "paid", "已付款": "paid",
    "卖家已发货": "shipped", "卖家已发货，等待买家确认": "shipped", "卖家已发货,等待买家确认": "shipped",
    "等待买家确认收货": "shipped", "已发货": "shipped", "待收货": "shipped",
    "交易成功": "completed", "交易完成": "completed", "已完成": "completed", "已签收": "completed",
    "交易关闭": "cancelled", "订单关闭": "cancelled",
    "退款成功": "refunded", "已退款": "refunded", "退款中": "refunded", "退款中的订单": "refunded",
    "交易关闭(退款)": "refunded", "交易关闭（退款）": "refunded", "全额退款": "refunded",
    # JD
    "等待付款": "unpaid", "等待出库": "paid", "等待发货": "paid", "已出库": "shipped", "配送中": "shipped",
    "等待确认收货": "shipped", "完成": "completed", "已取消": "cancelled", "取消": "cancelled",
    "订单取消": "cancelled", "(删除)": "cancelled", "（删除）": "cancelled", "删除": "cancelled",
    "已删除": "cancelled",
}


def _columns_for(fmt: OrdersFormat, header: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Return (field -> column present in the header, required fields with no column)."""
    present = set(header)
    chosen: dict[str, str] = {}
    for field, names in fmt.columns.items():
        found = next((name for name in names if name in present), None)
        if found is not None:
            chosen[field] = found
    return chosen, [f for f in fmt.required if f not in chosen]


def detect_format(header: Sequence[str], requested: str = "auto") -> tuple[OrdersFormat, dict[str, str]]:
    """Return the format and its field -> column mapping, or raise ValueError naming what the header lacks."""
    if requested not in FORMAT_NAMES:
        raise ValueError(f"未知的订单格式 {requested!r}；可选：{', '.join(FORMAT_NAMES)}")
    candidates = list(FORMATS.values()) if requested == "auto" else [FORMATS[requested]]
    best: tuple[OrdersFormat, list[str]] | None = None
    for fmt in candidates:
        chosen, missing = _columns_for(fmt, header)
        if not missing:
            return fmt, chosen
        if best is None or len(missing) < len(best[1]):
            best = (fmt, missing)
    assert best is not None
    fmt, missing = best
    wanted = ", ".join(f"{f} ({' / '.join(fmt.columns[f])})" for f in missing)
    raise ValueError(f"缺少 {fmt.name} 格式（{fmt.title}）所需的列：{wanted}")


def normalise_header(names: Sequence[object]) -> list[str]:
    """Return header names without surrounding whitespace, BOM or Excel's ="…" wrapping."""
    cleaned = []
    for name in names:
        text = str(name).strip().lstrip("\ufeff").strip()
        if text.startswith('="') and text.endswith('"'):
            text = text[2:-1].strip()
        cleaned.append(text)
    return cleaned
