"""Simulated Chinese social-media chatter about the watched brands, with injected crises. Pure.

Deterministic for a seed (`random.Random(seed)`), standard library only: no config, database or
network. Used by the demo and by tests. The texts follow config/lexicon.toml: ordinary praise and
neutral talk contain no crisis-category term, everyday complaints contain exactly one (at most three
per brand in any 60 minutes), and crisis posts contain several terms of the crisis category.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
ORDER_FIELDS = ("order_id", "customer_id", "product", "sku", "amount_yuan", "paid_at", "status")
MAX_COMPLAINTS_PER_HOUR = 3
COMPLAINT_SHARE = 0.13
NEUTRAL_SHARE = 0.30
CRISIS_KOL_MAX = 200_000  # other crisis posts stay below the 2-3 injected 300,000+ accounts

BRANDS: dict[str, tuple[str, ...]] = {
    "澄星": ("澄星空气炸锅", "澄星电水壶", "澄星破壁机"),
    "青禾": ("青禾牛奶", "青禾坚果礼盒", "青禾燕麦片"),
    "木棉优选": ("木棉四件套", "木棉羽绒被", "木棉毛巾"),
}
ALIASES = {"澄星": ("澄星", "澄星电器"), "青禾": ("青禾", "青禾食品"), "木棉优选": ("木棉优选", "木棉")}
KIND = {"澄星": "appliance", "青禾": "food", "木棉优选": "textile"}
BRAND_RATE = {"澄星": 1.0, "青禾": 1.1, "木棉优选": 0.9}
# Mentions per hour of one brand by Asia/Shanghai hour of day: quiet nights, evening peak.
HOURLY_RATE = (3.0, 2.5, 2.0, 1.5, 1.5, 2.0, 3.0, 4.5, 5.5, 6.0, 6.5, 6.5,
               7.0, 6.5, 6.0, 6.0, 6.0, 6.5, 7.0, 7.5, 8.0, 8.0, 6.5, 4.5)
SKU_PREFIX = {
    "澄星空气炸锅": "CX-AF", "澄星电水壶": "CX-KT", "澄星破壁机": "CX-BL",
    "青禾牛奶": "QH-MK", "青禾坚果礼盒": "QH-NT", "青禾燕麦片": "QH-OT",
    "木棉四件套": "MM-BS", "木棉羽绒被": "MM-DV", "木棉毛巾": "MM-TW",
}
MIN_PRICE_CENTS = 19900
PRICES_CENTS = ((19900, 22900, 25900, 26990, 29900), (33900, 36900, 39900, 42990, 45900, 49900))
PLATFORM_SLUG = {"微博": "weibo", "小红书": "xiaohongshu", "抖音": "douyin", "知乎": "zhihu",
                 "淘宝评价": "taobao", "黑猫投诉": "heimao"}
PRAISE_PLATFORMS = {"微博": 30, "小红书": 25, "抖音": 20, "知乎": 8, "淘宝评价": 17}
COMPLAINT_PLATFORMS = {"微博": 30, "小红书": 15, "抖音": 15, "知乎": 5, "淘宝评价": 15, "黑猫投诉": 20}

PRAISE = ("好评", "性价比高", "很满意", "颜值很高", "到货很快", "包装很用心", "会回购的", "推荐给大家",
          "价格很实惠", "比想象中好用", "家里人都说好", "真香", "物超所值", "东西很不错", "用着很顺手")
PRODUCT_PRAISE = {
    "澄星空气炸锅": ("炸鸡翅外酥里嫩", "少油很健康", "容量够一家三口用", "拆洗很方便", "薯条一次成功"),
    "澄星电水壶": ("烧水很快", "保温效果很好", "静音效果很好", "放在厨房很好看"),
    "澄星破壁机": ("打豆浆很细腻", "早上做米糊很方便", "果汁打得很细", "一键操作很省心"),
    "青禾牛奶": ("口感醇厚", "孩子很爱喝", "每天早上一盒很舒服", "奶味很浓"),
    "青禾坚果礼盒": ("送礼很有面子", "坚果很新鲜", "分量很足", "每一包都很香"),
    "青禾燕麦片": ("冲泡很快很好喝", "早餐必备", "饱腹感很强", "口感很好"),
    "木棉四件套": ("摸起来很舒服", "颜色很正", "手感很柔软舒服", "睡着很亲肤"),
    "木棉羽绒被": ("很暖和", "蓬松度很好", "冬天盖刚刚好", "轻薄又保暖"),
    "木棉毛巾": ("吸水性很好", "很柔软", "洗完依旧蓬松柔软", "厚实很舒服"),
}
PRAISE_FORMS = (
    "{opener}{product}{a}，{b}{end}", "{product}{a}{end} {b}", "入手{product}{n}个月了，{a}，{b}{end}",
    "再次购买{product}，{a}，{b}{end}", "{brand}家的东西一直在用，{product}{a}，{b}{end}",
    "{opener}{product}，{a}，{b}，{c}{end}", "{product} {a}！{b}{end}",
)
NEUTRAL_FORMS = (
    "还行吧，{product}中规中矩{end}", "有人买过{product}吗？值得入吗", "{product}和别家比怎么样，求推荐",
    "{brand}直播间今晚有活动，{product}便宜了{n}十块", "{product}刚收到，先用几天再来追评",
    "{brand}新品上架了，有点心动{end}", "{brand}活动价很划算，囤了{n}件{end}",
    "{product}到底值不值，蹲一个真实测评", "{alias}这次活动价多少？想入{product}",
    "刚下单了{product}，期待{end}", "{product}收到啦，第一印象不错{end}",
)
OPENERS = ("", "", "朋友推荐的", "双十一囤的", "618入手的", "刚到手，", "给爸妈买的", "再次购买，",
           "直播间抢的", "用了一个月，", "对比了好几家选的")
FILLERS = ("", "", "", "", "说实话，", "姐妹们，", "家人们，", "真心说，", "哈哈哈 ", "分享一下：",
           "宝子们，")
CRISIS_FILLERS = ("", "", "", "家人们，", "姐妹们，", "说实话，", "真的服了，", "无语，", "曝光一下：")
ENDINGS = ("", "。", "！", "~", "！！", "。。", "…", "~~")

# Everyday complaints: mild, one crisis-category term each. Safety complaints are left out on purpose.
COMPLAINTS: dict[str, dict[str, tuple[str, ...]]] = {
    "物流配送": {"any": ("{product}收到了，就是快递慢了两天", "物流有点慢，{product}等了一周才到",
                          "{product}发货比说的晚了一天", "{product}还行，配送时间有点长")},
    "售后服务": {"any": ("问了{product}的问题，客服半天才回", "{product}想换个颜色，退货流程有点麻烦",
                          "{brand}的售后回复有点慢，不过最后解决了")},
    "产品质量": {
        "appliance": ("{product}用着还行，就是做工一般", "{product}质量中规中矩，没有想象中好",
                      "{product}刚拆开有点异味，散了几天才好"),
        "food": ("这批{product}口感一般，质量不如上次", "{product}有一包封口开裂了",
                 "{product}这次质量一般般"),
        "textile": ("{product}洗了一次有点掉色", "{product}用了一个月有点起球",
                    "{product}刚拆开有点异味，晾两天好了"),
    },
    "价格/虚假宣传": {"any": ("刚买完{product}就降价了，有点先涨后降的意思", "{product}感觉有点智商税",
                              "{product}实物颜色和图片有点货不对板")},
    "个人信息泄露": {"any": ("买完{product}接了两个骚扰电话，不知道有没有关系",)},
}
COMPLAINT_WEIGHTS = {"物流配送": 30, "售后服务": 20, "产品质量": 30, "价格/虚假宣传": 15, "个人信息泄露": 5}

# Crisis cores: every phrase holds a crisis-category term, the phrases of one list different terms.
CRISIS_CORES: dict[str, dict[str, tuple[str, ...]]] = {
    "产品质量": {
        "appliance": ("用了两天就坏了", "通电后直接不工作了", "内胆涂层开裂", "加热时一股塑料异味",
                      "按键故障失灵", "底部漏水", "质量太差了", "做工粗糙得离谱", "一看就是次品"),
        "food": ("开封就有股异味", "有好几包发霉了", "包装盒开裂", "质量太差了", "一看就是次品",
                 "劣质得离谱"),
        "textile": ("洗一次就掉色", "起球特别严重", "线头到处都是，做工太差", "一股刺鼻异味", "缝线开裂",
                    "劣质面料", "质量太差了"),
    },
    "人身安全/食品安全": {
        "appliance": ("用着用着突然起火", "外壳漏电手都麻了", "把孩子的手烫伤了", "机器冒烟差点自燃",
                      "砰的一声像要爆炸"),
        "food": ("全家吃完拉肚子", "孩子吃完呕吐不止", "里面吃出了异物", "打开就已经变质", "日期显示早就过期",
                 "腹泻到去医院住院"),
        "textile": ("甲醛味重担心致癌", "里面居然有异物", "孩子盖完过敏住院", "靠近取暖器差点起火"),
    },
    "售后服务": {"any": ("客服一直推诿", "申请退款五天没人处理", "售后敷衍得离谱", "说好的维修拖了半个月",
                          "退货申请被驳回", "发消息根本不理人", "准备去12315投诉", "对接的人态度极差")},
    "物流配送": {"any": ("下单十天还没发货", "快递显示签收但根本没收到", "物流一周没更新", "外箱破损严重",
                          "商家说丢件了让我等", "配送一拖再拖", "延迟了好几天也不通知")},
    "价格/虚假宣传": {"any": ("宣传页面纯属虚假宣传", "参数虚标", "先涨后降玩得明白", "价格欺诈没跑了",
                              "收到的货不对板", "怀疑是假货", "交了智商税", "广告就是骗人的")},
    "个人信息泄露": {"any": ("下单后个人信息全泄露了", "天天接骚扰电话", "诈骗电话能报出我的订单",
                              "手机号被卖了", "信息被卖给了推销的", "一点隐私都没有")},
}
SERVICE_ADDENDA = ("找客服只会复制粘贴", "已经申请退款了", "客服让我等通知", "要求退款还在走流程")
CRISIS_FORMS = (
    "{product}{a}，{b}，{close}", "{intro}买的{product}，{a}，{b}。{close}", "{close} {product}{a}！{b}",
    "#{brand}翻车# {product}{a}，{b}，{close}", "花了{price}块买的{product}，{a}，{b}{end}{close}",
    "{intro}下单的{product}，结果{a}。{b}……{close}", "说一下{product}：{a}；{b}。{close}",
)
CRISIS_INTROS = ("上周", "618", "双11", "刚在直播间", "三天前", "前天", "大促时", "月初")
CLOSERS = ("太失望了", "大家避雷！", "再也不买了", "千万别买", "差评！", "气死我了", "有一样遭遇的吗？",
           "必须曝光一下", "这就是大牌？", "建议大家慎重", "无语了", "给{brand}长点心吧")
KOL_FORM = ("【避雷】最近后台收到大量粉丝反馈：{product}{a}，{b}。我们自己下单实测了一下，{c}。"
            "{brand}官方请给个说法！")
REPOST_COMMENTS = ("转发微博", "转发微博", "转发微博", "扩散", "避雷", "太离谱了", "同款遭遇",
                   "已拉黑这个牌子")
KOL_NAMES = {
    "appliance": ("数码家电老K", "家电测评君", "厨房好物研究所"),
    "food": ("吃货研究所", "营养师小林", "零食测评官"),
    "textile": ("家居好物指南", "软装设计师阿May", "睡眠研究室"),
    "any": ("消费维权观察", "生活家小北", "买买买攻略", "科技美学日常"),
}
NICK_ADJECTIVES = ("快乐的", "路过的", "爱笑的", "不想上班的", "认真生活的", "早睡早起的", "努力搬砖的",
                   "佛系的", "热爱生活的", "爱喝奶茶的", "今天也要加油的", "会做饭的")
NICK_NOUNS = ("小猫", "橘子", "大白", "兔子", "阿杰", "小鹿", "咸鱼", "土豆", "豆包", "芒果", "喵喵", "老王",
              "阿May")
NICK_LATIN = ("Lily", "Amy", "Kevin", "Momo", "Jason", "Coco", "Vivi", "Leo")
NICK_CITIES = ("上海", "杭州", "成都", "北京", "深圳", "武汉", "南京", "广州")


@dataclass(frozen=True)
class CrisisShape:
    """How a crisis unfolds: posts in its first and second half hour, per hour in hours 2-3, then an
    exponential decay (`decay_hours`) until hour `hours`; `kols` bounds its 300,000+ posts."""

    first: float
    second: float
    plateau: float
    decay_hours: float
    hours: int
    kols: tuple[int, int]


DEFAULT_SHAPE = CrisisShape(first=15.0, second=25.0, plateau=60.0, decay_hours=5.0, hours=36, kols=(2, 3))
# Crisis sizes of a simulated week: small ≈ 13 posts in the first hour and no high-reach account,
# medium ≈ 40, large ≈ 110 with 3-4 accounts of 300,000+ (the default scenario sits between the last two).
SIZES: dict[str, CrisisShape] = {
    "small": CrisisShape(first=8.0, second=5.0, plateau=6.0, decay_hours=3.0, hours=12, kols=(0, 0)),
    "medium": CrisisShape(first=15.0, second=25.0, plateau=35.0, decay_hours=4.0, hours=24, kols=(0, 0)),
    "large": CrisisShape(first=45.0, second=65.0, plateau=150.0, decay_hours=6.0, hours=36, kols=(3, 4)),
}
LEVELS = ("I", "II", "III", "IV")
# A 双11-like night: extra praise and neutral talk (never complaints), none of it holding a crisis term.
SURGE_FORMS = (
    "双11零点抢到了{product}{end}", "{brand}双11活动价太香了，{product}直接囤了{n}件",
    "付完尾款了，{product}坐等收货{end}", "蹲了一晚上终于抢到{product}{end}",
    "{alias}直播间双11福利好多，{product}又便宜了{n}十块", "双11清单：{product}已加购{end}",
    "今晚{brand}满减力度很大，{product}入手{end}", "{product}双11价格很美丽，冲了{end}",
    "双十一给爸妈也买了{product}{end}",
)


@dataclass(frozen=True)
class CrisisSpec:
    """One crisis to inject into a week, with the level a person would give it (I … IV)."""

    brand: str
    product: str
    category: str
    start: datetime
    size: str = "medium"
    intended_level: str = "III"


@dataclass(frozen=True)
class SurgeSpec:
    """A sale night: every brand's praise and neutral talk at `multiplier` times its rate for `hours`."""

    start: datetime
    hours: float = 4.0
    multiplier: float = 6.0


@dataclass(frozen=True)
class Week:
    """Simulated mentions of several days with injected crises and an optional sale surge (times in UTC)."""

    mentions: list[dict[str, object]]
    crises: tuple[CrisisSpec, ...]
    surge: SurgeSpec | None
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Scenario:
    """Simulated mentions with one crisis, plus the orders of the crisis product."""

    mentions: list[dict[str, object]]
    orders: list[dict[str, object]]
    brand: str
    product: str
    category: str
    crisis_start: datetime
    start: datetime
    end: datetime


@dataclass(frozen=True)
class _Post:
    """One post before it gets its id, in UTC."""

    at: datetime
    text: str
    author: str
    reach: int
    platform: str


def generate_scenario(
    seed: int, end: datetime, *, days: int = 7, crisis_brand: str = "澄星",
    crisis_product: str = "澄星空气炸锅", crisis_category: str = "产品质量",
    crisis_start: datetime | None = None, orders: int = 240,
) -> Scenario:
    """Generate `days` of chatter ending at `end` with one crisis, and the crisis product's orders.

    `end` must be aware; it and `crisis_start` are floored to the second. The default crisis starts
    4 days before `end`, floored to the hour. Raise ValueError for bad arguments.
    """
    _check_arguments(end, days, crisis_brand, crisis_product, crisis_category, orders)
    last = end.astimezone(UTC).replace(microsecond=0)
    first = last - timedelta(days=days)
    onset = _crisis_onset(last, first, crisis_start)
    master = random.Random(seed)
    chatter_rng, crisis_rng, order_rng = (random.Random(master.getrandbits(64)) for _ in range(3))
    nicknames = _nickname_pool(chatter_rng, 600)
    posts: list[_Post] = []
    for brand in BRANDS:
        posts.extend(_brand_chatter(chatter_rng, brand, first, last, nicknames))
    crisis = _crisis_posts(crisis_rng, crisis_brand, crisis_product, crisis_category, onset, last, nicknames)
    posts.extend(crisis)
    return Scenario(
        mentions=_mention_rows(seed, posts),
        orders=_order_rows(order_rng, seed, crisis_product, orders, onset),
        brand=crisis_brand, product=crisis_product, category=crisis_category,
        crisis_start=onset, start=first, end=last,
    )


def generate_week(
    seed: int, end: datetime, *, days: int = 7, crises: Sequence[CrisisSpec] = (), surge: SurgeSpec | None = None,
) -> Week:
    """Generate `days` of ordinary chatter ending at `end`, each crisis of `crises` and the surge.

    `end` and every start must be aware and are floored to the second; the chatter is the same
    whatever the crises and surge. Raise ValueError for bad arguments.
    """
    _check_range(end, days)
    last = end.astimezone(UTC).replace(microsecond=0)
    first = last - timedelta(days=days)
    specs = tuple(_checked_crisis(spec, first, last) for spec in crises)
    surge = _checked_surge(surge, first, last) if surge is not None else None
    master = random.Random(seed)
    chatter_rng, surge_rng = random.Random(master.getrandbits(64)), random.Random(master.getrandbits(64))
    nicknames = _nickname_pool(chatter_rng, 600)
    posts: list[_Post] = []
    for brand in BRANDS:
        posts.extend(_brand_chatter(chatter_rng, brand, first, last, nicknames))
    if surge is not None:
        posts.extend(_surge_posts(surge_rng, surge, last, nicknames))
    for spec in specs:
        rng = random.Random(master.getrandbits(64))
        posts.extend(_crisis_posts(rng, spec.brand, spec.product, spec.category, spec.start, last, nicknames,
                                   SIZES[spec.size]))
    return Week(mentions=_mention_rows(seed, posts), crises=specs, surge=surge, start=first, end=last)


def generate_orders(seed: int, product: str, count: int, onset: datetime) -> list[dict[str, object]]:
    """Return `count` orders of `product` paid in the 30 days before `onset` (aware), deterministic for a seed."""
    if onset.tzinfo is None or onset.utcoffset() is None:
        raise ValueError("onset must be timezone-aware")
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if not any(product in products for products in BRANDS.values()):
        raise ValueError(f"unknown product {product!r}")
    return _order_rows(random.Random(seed), seed, product, count, onset.astimezone(UTC).replace(microsecond=0))


def write_orders_rows(orders: list[dict[str, object]], path: Path) -> None:
    """Write orders as UTF-8 CSV with the header order_id,customer_id,product,sku,amount_yuan,..."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ORDER_FIELDS)
        writer.writeheader()
        writer.writerows(orders)


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


def _check_arguments(end: datetime, days: int, brand: str, product: str, category: str, orders: int) -> None:
    """Raise ValueError naming the first bad argument."""
    _check_range(end, days)
    _check_crisis(brand, product, category)
    if orders < 0:
        raise ValueError(f"orders must not be negative, got {orders}")


def _check_range(end: datetime, days: int) -> None:
    """Raise ValueError unless `end` is aware and `days` is at least 1."""
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must be timezone-aware")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")


def _check_crisis(brand: str, product: str, category: str) -> None:
    """Raise ValueError unless the brand, its product and the crisis category are known."""
    if brand not in BRANDS:
        raise ValueError(f"unknown crisis_brand {brand!r}; known: {', '.join(BRANDS)}")
    if product not in BRANDS[brand]:
        raise ValueError(f"crisis_product {product!r} is not a product of {brand!r}")
    if category not in CRISIS_CORES:
        raise ValueError(f"unknown crisis_category {category!r}; known: {', '.join(CRISIS_CORES)}")


def _crisis_onset(last: datetime, first: datetime, crisis_start: datetime | None) -> datetime:
    """Return the crisis start in UTC (default: 4 days before the end, floored to the hour)."""
    if crisis_start is None:
        onset = (last - timedelta(days=4)).replace(minute=0, second=0)
    elif crisis_start.tzinfo is None or crisis_start.utcoffset() is None:
        raise ValueError("crisis_start must be timezone-aware")
    else:
        onset = crisis_start.astimezone(UTC).replace(microsecond=0)
    if not first <= onset <= last:
        raise ValueError(
            f"crisis_start {onset.isoformat()} is outside the covered range "
            f"[{first.isoformat()}, {last.isoformat()}] (pass crisis_start or more days)"
        )
    return onset


def _aware_utc(value: datetime, name: str) -> datetime:
    """Return an aware time in UTC floored to the second, or raise ValueError naming it."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0)


def _checked_crisis(spec: CrisisSpec, first: datetime, last: datetime) -> CrisisSpec:
    """Return the spec with its start in UTC, or raise ValueError naming the bad field."""
    _check_crisis(spec.brand, spec.product, spec.category)
    if spec.size not in SIZES:
        raise ValueError(f"unknown crisis size {spec.size!r}; known: {', '.join(SIZES)}")
    if spec.intended_level not in LEVELS:
        raise ValueError(f"unknown intended_level {spec.intended_level!r}; known: {', '.join(LEVELS)}")
    start = _aware_utc(spec.start, "crisis start")
    if not first <= start <= last:
        raise ValueError(f"crisis start {start.isoformat()} is outside [{first.isoformat()}, {last.isoformat()}]")
    return CrisisSpec(spec.brand, spec.product, spec.category, start, spec.size, spec.intended_level)


def _checked_surge(surge: SurgeSpec, first: datetime, last: datetime) -> SurgeSpec:
    """Return the surge with its start in UTC, or raise ValueError naming the bad field."""
    start = _aware_utc(surge.start, "surge start")
    if not first <= start < last:
        raise ValueError(f"surge start {start.isoformat()} is outside [{first.isoformat()}, {last.isoformat()})")
    if surge.hours <= 0 or surge.multiplier < 1:
        raise ValueError(f"surge needs hours > 0 and multiplier >= 1, got {surge.hours} and {surge.multiplier}")
    return SurgeSpec(start, surge.hours, surge.multiplier)


def _poisson(rng: random.Random, mean: float) -> int:
    """Draw a Poisson-distributed count (Knuth's method; the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _random_times(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    """Return `count` sorted whole-second times in [start, end]."""
    span = int((end - start).total_seconds())
    return sorted(start + timedelta(seconds=rng.randint(0, span)) for _ in range(count))


def _chatter_times(rng: random.Random, brand: str, first: datetime, last: datetime) -> list[datetime]:
    """Return one brand's ordinary mention times, hour by hour with the Shanghai day rhythm."""
    times: list[datetime] = []
    slot = first
    while slot < last:
        slot_end = min(slot + timedelta(hours=1), last)
        fraction = (slot_end - slot).total_seconds() / 3600
        mean = HOURLY_RATE[slot.astimezone(SHANGHAI).hour] * BRAND_RATE[brand] * fraction
        times.extend(_random_times(rng, slot, slot_end, _poisson(rng, mean)))
        slot = slot_end
    return times


def _brand_chatter(rng: random.Random, brand: str, first: datetime, last: datetime,
                   nicknames: Sequence[str]) -> list[_Post]:
    """Return one brand's ordinary chatter, never more than 3 complaints in any 60 minutes."""
    recent: deque[datetime] = deque()
    posts: list[_Post] = []
    for at in _chatter_times(rng, brand, first, last):
        while recent and at - recent[0] >= timedelta(hours=1):
            recent.popleft()
        complaint = rng.random() < COMPLAINT_SHARE and len(recent) < MAX_COMPLAINTS_PER_HOUR
        if complaint:
            recent.append(at)
            text, platforms = _complaint_text(rng, brand), COMPLAINT_PLATFORMS
        else:
            text, platforms = _everyday_text(rng, brand), PRAISE_PLATFORMS
        posts.append(_Post(at, text, rng.choice(nicknames), _reach(rng), _weighted(rng, platforms)))
    return posts


def _surge_posts(rng: random.Random, surge: SurgeSpec, last: datetime, nicknames: Sequence[str]) -> list[_Post]:
    """Return the surge's extra praise and neutral talk, `multiplier - 1` times each brand's usual rate."""
    finish = min(surge.start + timedelta(hours=surge.hours), last)
    posts: list[_Post] = []
    for brand in BRANDS:
        slot = surge.start
        while slot < finish:
            slot_end = min(slot + timedelta(hours=1), finish)
            fraction = (slot_end - slot).total_seconds() / 3600
            mean = HOURLY_RATE[slot.astimezone(SHANGHAI).hour] * BRAND_RATE[brand] * (surge.multiplier - 1) * fraction
            for at in _random_times(rng, slot, slot_end, _poisson(rng, mean)):
                text = _sale_text(rng, brand) if rng.random() < 0.5 else _everyday_text(rng, brand)
                posts.append(_Post(at, text, rng.choice(nicknames), _reach(rng), _weighted(rng, PRAISE_PLATFORMS)))
            slot = slot_end
    return posts


def _sale_text(rng: random.Random, brand: str) -> str:
    """Return sale-night talk about the brand; it holds no crisis-category term."""
    values = {"brand": brand, "alias": rng.choice(ALIASES[brand]), "product": rng.choice(BRANDS[brand]),
              "end": rng.choice(ENDINGS), "n": rng.randint(2, 9)}
    return _decorate(rng, rng.choice(SURGE_FORMS).format(**values))


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    """Return one key of `weights`, drawn in proportion to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _reach(rng: random.Random, kol_max: int = 800_000) -> int:
    """Return a reach: mostly 50-5,000 (log-uniform), rarely a KOL's 50,000-`kol_max`."""
    if rng.random() < 0.015:
        return rng.randint(50_000, kol_max)
    return int(math.exp(rng.uniform(math.log(50), math.log(5000))))


def _decorate(rng: random.Random, text: str, fillers: Sequence[str] = FILLERS) -> str:
    """Return the text with an optional conversational filler in front."""
    return rng.choice(fillers) + text


def _everyday_text(rng: random.Random, brand: str) -> str:
    """Return praise or neutral talk about the brand; it holds no crisis-category term."""
    product = rng.choice(BRANDS[brand])
    values = {
        "brand": brand, "alias": rng.choice(ALIASES[brand]), "product": product,
        "opener": rng.choice(OPENERS), "end": rng.choice(ENDINGS), "n": rng.randint(2, 9),
    }
    if rng.random() < NEUTRAL_SHARE:
        return _decorate(rng, rng.choice(NEUTRAL_FORMS).format(**values))
    a, b, c = rng.sample(PRODUCT_PRAISE[product] + PRAISE, 3)
    return _decorate(rng, rng.choice(PRAISE_FORMS).format(a=a, b=b, c=c, **values))


def _complaint_text(rng: random.Random, brand: str) -> str:
    """Return a mild everyday complaint holding one crisis-category term."""
    category = _weighted(rng, COMPLAINT_WEIGHTS)
    forms = _by_kind(COMPLAINTS[category], brand)
    text = rng.choice(forms).format(brand=brand, product=rng.choice(BRANDS[brand]))
    return _decorate(rng, text + rng.choice(ENDINGS))


def _by_kind(table: dict[str, tuple[str, ...]], brand: str) -> tuple[str, ...]:
    """Return the entries for the brand's kind of product, else the shared ones."""
    return table.get(KIND[brand], table.get("any", ()))


def _nickname(rng: random.Random) -> str:
    """Return one generated nickname in a common style."""
    style = rng.randrange(4)
    if style == 0:
        return rng.choice(NICK_ADJECTIVES) + rng.choice(NICK_NOUNS)
    if style == 1:
        return f"{rng.choice(NICK_NOUNS)}{rng.choice(('_', '', '-'))}{rng.randint(1, 9999)}"
    if style == 2:
        return f"{rng.choice(NICK_LATIN)}在{rng.choice(NICK_CITIES)}"
    return f"{rng.choice(NICK_LATIN).lower()}{rng.choice(NICK_NOUNS)}{rng.randint(10, 99)}"


def _nickname_pool(rng: random.Random, size: int) -> list[str]:
    """Return `size` nicknames (some repeat, as regular posters do)."""
    return [_nickname(rng) for _ in range(size)]


def _crisis_schedule(rng: random.Random, onset: datetime, last: datetime, shape: CrisisShape) -> list[datetime]:
    """Return the crisis post times: the shape's two first half hours, its plateau in hours 2-3, then decay."""
    segments = [(0.0, 0.5, shape.first), (0.5, 1.0, shape.second), (1.0, 2.0, shape.plateau),
                (2.0, 3.0, shape.plateau)]
    segments += [(h, h + 1.0, shape.plateau * math.exp(-(h - 2) / shape.decay_hours))
                 for h in range(3, shape.hours)]
    times: list[datetime] = []
    for begin, finish, mean in segments:
        seg_start = onset + timedelta(hours=begin)
        seg_end = min(onset + timedelta(hours=finish), last)
        if seg_end <= seg_start:
            break
        share = (seg_end - seg_start) / timedelta(hours=finish - begin)
        count = round(mean * share * rng.uniform(0.9, 1.1))
        times.extend(_random_times(rng, seg_start, seg_end, count))
    return times


def _crisis_posts(rng: random.Random, brand: str, product: str, category: str, onset: datetime,
                  last: datetime, nicknames: Sequence[str], shape: CrisisShape = DEFAULT_SHAPE) -> list[_Post]:
    """Return the crisis: complaints, the shape's high-reach posts early on, and reposts of earlier posts."""
    kol_start, kol_end = onset + timedelta(minutes=10), min(onset + timedelta(hours=3), last)
    kol_times = _random_times(rng, kol_start, kol_end, rng.randint(*shape.kols)) if kol_start < kol_end else []
    schedule = _crisis_schedule(rng, onset, last, shape)
    events = sorted([(t, True) for t in kol_times] + [(t, False) for t in schedule])
    originals: list[_Post] = []
    posts: list[_Post] = []
    for at, is_kol in events:
        if not is_kol and originals and rng.random() < 0.2:
            posts.append(_repost(rng, originals, at, nicknames))
            continue
        if is_kol:
            post = _kol_post(rng, brand, product, category, at)
        else:
            text = _crisis_text(rng, brand, product, category)
            reach = _reach(rng, CRISIS_KOL_MAX)
            post = _Post(at, text, rng.choice(nicknames), reach, _weighted(rng, COMPLAINT_PLATFORMS))
        originals.append(post)
        posts.append(post)
    return posts


def _crisis_values(
    rng: random.Random, brand: str, product: str, category: str, cores: int
) -> dict[str, object]:
    """Return the format values of a crisis post, with `cores` distinct complaint phrases."""
    phrases = rng.sample(_by_kind(CRISIS_CORES[category], brand), cores)
    if category != "售后服务" and rng.random() < 0.3:
        phrases[-1] += "，" + rng.choice(SERVICE_ADDENDA)
    return {
        "brand": brand, "product": product, "intro": rng.choice(CRISIS_INTROS),
        "close": rng.choice(CLOSERS).format(brand=brand), "end": rng.choice(("。", "！", "！！", "…")),
        "price": rng.randint(199, 499), **dict(zip("abc", phrases, strict=False)),
    }


def _crisis_text(rng: random.Random, brand: str, product: str, category: str) -> str:
    """Return one clearly negative post about the product in the crisis category."""
    values = _crisis_values(rng, brand, product, category, 2)
    return _decorate(rng, rng.choice(CRISIS_FORMS).format(**values), CRISIS_FILLERS)


def _kol_post(rng: random.Random, brand: str, product: str, category: str, at: datetime) -> _Post:
    """Return an early crisis post by a high-reach account (300,000+)."""
    values = _crisis_values(rng, brand, product, category, 3)
    author = rng.choice(_by_kind(KOL_NAMES, brand) + KOL_NAMES["any"])
    return _Post(at, KOL_FORM.format(**values), author, rng.randint(300_000, 800_000), "微博")


def _repost(rng: random.Random, originals: Sequence[_Post], at: datetime, nicknames: Sequence[str]) -> _Post:
    """Return a Weibo repost of an earlier crisis post; high-reach posts are reposted more."""
    weights = [5 if p.reach >= 300_000 else 1 for p in originals]
    source = rng.choices(originals, weights=weights)[0]
    text = f"{rng.choice(REPOST_COMMENTS)} //@{source.author}: {source.text}"
    return _Post(at, text, rng.choice(nicknames), _reach(rng, CRISIS_KOL_MAX), "微博")


def _mention_rows(seed: int, posts: list[_Post]) -> list[dict[str, object]]:
    """Return canonical mention rows sorted by time, with ids s<seed>-NNNNNN and example URLs."""
    rows: list[dict[str, object]] = []
    for n, post in enumerate(sorted(posts, key=lambda p: p.at), start=1):
        mention_id = f"s{seed}-{n:06d}"
        rows.append({
            "id": mention_id, "text": post.text, "author": post.author, "reach": post.reach,
            "published_at": post.at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
            "url": f"https://example.com/{PLATFORM_SLUG[post.platform]}/{mention_id}",
            "platform": post.platform,
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


def _sku_and_amount(rng: random.Random, product: str) -> tuple[str, str]:
    """Return a SKU of the product and a paid amount in yuan (199.00-499.00, two decimals)."""
    variant = rng.choice((1, 2))
    prices = PRICES_CENTS[variant - 1]
    coupon = rng.choice((0, 0, 0, 500, 1000, 2000, 3000)) + rng.choice((0, 0, 50))
    cents = max(MIN_PRICE_CENTS, rng.choice(prices) - coupon)
    return f"{SKU_PREFIX[product]}-{variant:02d}", f"{cents // 100}.{cents % 100:02d}"


def _order_rows(
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
