"""A second, larger CED check: the consumer-topic events that have only hourly repost counts (`make eval`).

benchmarks/ced.py replays the 28 consumer events whose every repost (time and text) is in the sample; earlier
sessions looked at those events while building detection, so their figures flatter it. The dataset has 163 more
consumer events (consumer_keyword = 1) with their repost volume per hour only (CED_reposts_hourly.csv). They
are judged below the same way, by reading each original post once, blind to what the system does with it
(watch term, crisis / quiet, and `skip` where the post names nothing an e-commerce company could sell or watch),
and replayed through the same runner as `crisis replay FILE --watch TERM --step 5m --horizon 48h`.

What the hourly data cannot say, and how it is filled in: the time of each repost within its hour (the hour's
reposts are spread evenly over it, the first hour's from the first repost's recorded time on) and the repost's own words
(every repost is a plain "转发微博", as most real reposts are, so each one counts for what the original says).
So this measures the original's reading and the spread, not what reposters add (debunks, their own
complaints); the minutes to an incident carry up to an hour of that spreading's error.
It measures and reports; it asserts nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from rich.console import Console

from benchmarks.ced import (
    CRISIS,
    HORIZON,
    PRICE,
    PRIVACY,
    QUALITY,
    QUIET,
    SAFETY,
    STEP,
    Verdict,
    _beijing,
    replay_row,
    summarise,
    summary_line,
)
from benchmarks.data import DATA_DIR
from tasks.scenario.files import write_mention_rows

HOURLY_FILES = ("events/CED_events.csv", "events/CED_reposts_hourly.csv", "events/CED_reposts_sample.csv")
SKIP = "skip"
SERVICE, LOGISTICS = "售后服务", "物流配送"

# Every consumer event with hourly counts only, read once: event id -> watch term and verdict.
EVENTS: dict[int, Verdict] = {
    76: Verdict("大润发", QUIET, "寻人启事，大润发只是地点"),
    78: Verdict("奶粉", QUIET, "批评央视报道取舍，奶粉只是顺带提及"),
    198: Verdict("", SKIP, "复旦投毒案推测，没有可监测的商品"),
    264: Verdict("鱼", CRISIS, "鱼浮灵致癌传言，活鱼食品安全恐慌", (SAFETY,)),
    279: Verdict("地沟油", CRISIS, "地沟油鉴别方法，食用油安全恐慌", (SAFETY,)),
    281: Verdict("可口可乐|果粒橙", CRISIS, "果粒橙含农药多菌灵，食品安全危机", (SAFETY,)),
    287: Verdict("地沟油", CRISIS, "地沟油鉴别方法 + 记者遇害，食用油安全恐慌", (SAFETY,)),
    302: Verdict("", SKIP, "外交部发言人谈空气质量，没有可监测的商品"),
    314: Verdict("", SKIP, "外交部发言人谈空气质量，没有可监测的商品"),
    322: Verdict("大润发", QUIET, "寻人启事，大润发只是地点"),
    327: Verdict("可口可乐|果粒橙", CRISIS, "果粒橙含禁用农药致癌传言，食品安全恐慌", (SAFETY,)),
    431: Verdict("地沟油", CRISIS, "地沟油检测方法，食用油安全恐慌", (SAFETY,)),
    433: Verdict("奶粉", CRISIS, "海关限制包裹奶粉罐数的传言，奶粉邮寄物流危机", (LOGISTICS,)),
    456: Verdict("地沟油", CRISIS, "查地沟油记者遇害传言，食品安全恐慌", (SAFETY,)),
    474: Verdict("地沟油", CRISIS, "查地沟油记者遇害传言，食品安全恐慌", (SAFETY,)),
    534: Verdict("西瓜", CRISIS, "打针西瓜注射禁用添加剂传言，食品安全恐慌", (SAFETY,)),
    548: Verdict("三星", CRISIS, "三星雇公关公司花钱黑苹果的爆料，虚假宣传丑闻", PRICE),
    616: Verdict("地沟油", CRISIS, "查地沟油记者遇害传言，食品安全恐慌", (SAFETY,)),
    677: Verdict("", SKIP, "隐翅虫毒液警示，没有可监测的商品"),
    725: Verdict("大闸蟹", CRISIS, "大闸蟹含激素抗菌素传言，食品安全恐慌", (SAFETY,)),
    744: Verdict("地沟油", CRISIS, "查地沟油记者遇害传言，食品安全恐慌", (SAFETY,)),
    781: Verdict("大润发", QUIET, "寻人启事，大润发只是地点"),
    846: Verdict("狗肉|猫狗肉", QUIET, "上海开通猫狗肉举报电话，好消息"),
    871: Verdict("易拉罐", CRISIS, "易拉罐鼠尿细菌致死传言，饮料卫生安全恐慌", (SAFETY,)),
    877: Verdict("地沟油", CRISIS, "查地沟油记者遇害 + 地沟油鉴别，食品安全恐慌", (SAFETY,)),
    1008: Verdict("地沟油", CRISIS, "地沟油鉴别方法，食用油安全恐慌", (SAFETY,)),
    1066: Verdict("鱼", CRISIS, "鱼浮灵致癌传言，活鱼食品安全恐慌", (SAFETY,)),
    1082: Verdict("来伊份", CRISIS, "3·15十七种问题食品黑名单传言，点名多个品牌", (SAFETY, QUALITY)),
    1126: Verdict("中国移动|移动", CRISIS, "冒充移动客服的100860短信诈骗，扣话费", (PRIVACY,)),
    1145: Verdict("鱼", CRISIS, "鱼浮灵致癌传言，活鱼食品安全恐慌", (SAFETY,)),
    1186: Verdict("乐天|乐天牌", CRISIS, "质检总局黑榜点名乐天巧克力铜超标", (SAFETY,)),
    1200: Verdict("大润发", QUIET, "寻人启事，大润发只是地点"),
    1219: Verdict("", SKIP, "哈尔滨垮塌大桥施工质量，没有可监测的商品"),
    1335: Verdict("湾仔码头", CRISIS, "湾仔码头水饺吃出饰品珠子，产品质量与食品安全", (SAFETY, QUALITY)),
    1374: Verdict("大润发", QUIET, "寻人启事，大润发只是地点"),
    1416: Verdict("", SKIP, "外交部发言人谈空气质量，没有可监测的商品"),
    1430: Verdict("狗肉", QUIET, "卖狗肉违法可举报的传言，爱狗人士的好消息"),
    1438: Verdict("西瓜", CRISIS, "打针西瓜注射禁用添加剂传言，食品安全恐慌", (SAFETY,)),
    1481: Verdict("地沟油", CRISIS, "查地沟油记者遇害传言，食品安全恐慌", (SAFETY,)),
    1487: Verdict("可口可乐|果粒橙", CRISIS, "果粒橙含禁用农药致癌传言，食品安全恐慌", (SAFETY,)),
    1508: Verdict("湾仔码头", CRISIS, "湾仔码头水饺吃出饰品珠子，产品质量与食品安全", (SAFETY, QUALITY)),
    1556: Verdict("地沟油", CRISIS, "查地沟油记者遇害传言，食品安全恐慌", (SAFETY,)),
    1567: Verdict("狗肉", QUIET, "卖狗肉违法可举报的传言，爱狗人士的好消息"),
    1576: Verdict("大闸蟹", CRISIS, "大闸蟹含激素抗菌素传言，食品安全恐慌", (SAFETY,)),
    1581: Verdict("", SKIP, "隐翅虫毒液警示，没有可监测的商品"),
    1602: Verdict("地沟油", CRISIS, "查地沟油记者遇害传言，食品安全恐慌", (SAFETY,)),
    1629: Verdict("安利|纽崔莱", CRISIS, "安利高层吃纽崔莱仍早逝的传言，保健品健康恐慌", (SAFETY,)),
    1642: Verdict("大润发", QUIET, "寻人启事，大润发只是地点"),
    1654: Verdict("来伊份", CRISIS, "3·15十七种问题食品黑名单传言，点名多个品牌", (SAFETY, QUALITY)),
    1660: Verdict("可口可乐|果粒橙", CRISIS, "果粒橙含禁用农药致癌传言，食品安全恐慌", (SAFETY,)),
    1666: Verdict("乐天|乐天牌", CRISIS, "质检总局黑榜点名乐天巧克力铜超标", (SAFETY,)),
    1677: Verdict("", SKIP, "红会买物资开假发票传言，没有可监测的商品"),
    1702: Verdict("安利|纽崔莱", CRISIS, "安利高层吃纽崔莱仍早逝的传言，保健品健康恐慌", (SAFETY,)),
    1737: Verdict("", SKIP, "隐翅虫毒液警示，没有可监测的商品"),
    1763: Verdict("超市", QUIET, "超市里孩子险被拐，防拐提醒，超市只是地点"),
    1778: Verdict("狗肉|猫狗肉", QUIET, "上海开通猫狗肉举报电话，好消息"),
    1792: Verdict("可口可乐|果粒橙", CRISIS, "果粒橙含禁用农药致癌传言，食品安全恐慌", (SAFETY,)),
    1889: Verdict("鱼", CRISIS, "鱼浮灵致癌传言，活鱼食品安全恐慌", (SAFETY,)),
    1904: Verdict("兰州拉面|拉面", CRISIS, "拉面剂含砷致癌传言，兰州拉面食品安全恐慌", (SAFETY,)),
    1914: Verdict("地沟油", CRISIS, "查地沟油记者遇害传言，食品安全恐慌", (SAFETY,)),
    1936: Verdict("大润发", QUIET, "寻人启事，大润发只是地点"),
    1937: Verdict("来伊份", CRISIS, "3·15十七种问题食品黑名单传言，点名多个品牌", (SAFETY, QUALITY)),
    1949: Verdict("地沟油", CRISIS, "查地沟油记者遇害传言，食品安全恐慌", (SAFETY,)),
    1962: Verdict("超市", QUIET, "超市里孩子险被拐，防拐提醒，超市只是地点"),
    1963: Verdict("大润发", QUIET, "寻人启事，大润发只是地点"),
    1971: Verdict("纽崔莱", QUIET, "叶诗文吃纽崔莱夺金的段子，对产品是正面宣传"),
    1977: Verdict("可口可乐|果粒橙", CRISIS, "果粒橙含禁用农药致癌传言，食品安全恐慌", (SAFETY,)),
    2016: Verdict("手推车", QUIET, "专家称超市手推车摆放不雅的荒诞段子，非商品问题"),
    2026: Verdict("狗肉", QUIET, "卖狗肉违法可举报的传言，爱狗人士的好消息"),
    2061: Verdict("", SKIP, "隐翅虫毒液警示，没有可监测的商品"),
    2064: Verdict("可口可乐|果粒橙", CRISIS, "果粒橙含禁用农药致癌传言，食品安全恐慌", (SAFETY,)),
    2068: Verdict("乐天|乐天牌", CRISIS, "质检总局黑榜点名乐天巧克力铜超标", (SAFETY,)),
    2088: Verdict("快递", CRISIS, "警方提示签收快递等新骗局，快递配送安全恐慌", (SAFETY, PRIVACY)),
    2090: Verdict("狗肉|猫狗肉", QUIET, "上海开通猫狗肉举报电话，好消息"),
    2091: Verdict("地沟油", CRISIS, "地沟油鉴别方法，食用油安全恐慌", (SAFETY,)),
    2107: Verdict("可口可乐|果粒橙", CRISIS, "果粒橙含禁用农药致癌传言，食品安全恐慌", (SAFETY,)),
    2142: Verdict("", SKIP, "隐翅虫毒液警示，没有可监测的商品"),
    2145: Verdict("来伊份", CRISIS, "3·15十七种问题食品黑名单传言，点名多个品牌", (SAFETY, QUALITY)),
    2162: Verdict("地沟油", CRISIS, "查地沟油记者遇害传言，食品安全恐慌", (SAFETY,)),
    2167: Verdict("手推车", QUIET, "专家称超市手推车摆放不雅的荒诞段子，非商品问题"),
    2172: Verdict("可口可乐|果粒橙", CRISIS, "果粒橙含禁用农药致癌传言，食品安全恐慌", (SAFETY,)),
    2192: Verdict("中国移动|移动", CRISIS, "移动对微信微博收费的传言，价格/收费危机", PRICE),
    2216: Verdict("狗肉|猫狗肉", QUIET, "上海开通猫狗肉举报电话，好消息"),
    2226: Verdict("西瓜|打针西瓜", CRISIS, "打针西瓜注射禁用添加剂的传言，食品安全恐慌", (SAFETY,)),
    2235: Verdict("中国移动|移动", CRISIS, "移动对微信微博收费的传言，价格/收费危机", PRICE),
    2248: Verdict("恰恰瓜子|恰恰", CRISIS, "恰恰瓜子国内售价是美国十倍的传言，价格危机", PRICE),
    2268: Verdict("乐天|乐天牌", CRISIS, "质检总局黑榜点名乐天巧克力铜超标", (SAFETY,)),
    2298: Verdict("易拉罐", CRISIS, "易拉罐鼠尿致死的传言，饮料安全恐慌", (SAFETY,)),
    2316: Verdict("地沟油", CRISIS, "地沟油鉴别方法，食用油安全恐慌", (SAFETY,)),
    2327: Verdict("大润发", QUIET, "寻人启事，大润发只是地点"),
    2330: Verdict("食品", CRISIS, "揭露当前食品问题，食品安全恐慌", (SAFETY,)),
    2344: Verdict("西瓜|打针西瓜", CRISIS, "打针西瓜注射禁用添加剂的传言，食品安全恐慌", (SAFETY,)),
    2380: Verdict("猫", QUIET, "食用猫违法的说法，动物保护话题，非商品问题"),
    2411: Verdict("猫", QUIET, "食用猫违法的说法，动物保护号召，非商品问题"),
    2421: Verdict("三聚氰胺", QUIET, "举报人遭遇的政治议题列表，三聚氰胺只是旧事提及"),
    2428: Verdict("乐天|乐天牌", CRISIS, "质检总局黑榜点名乐天巧克力铜超标", (SAFETY,)),
    2432: Verdict("猫", QUIET, "猫肉违法的法规说法，动物保护话题，非商品问题"),
    2435: Verdict("中国移动|移动", CRISIS, "移动对微信微博收费的传言，价格/收费危机", PRICE),
    2446: Verdict("恰恰瓜子|恰恰", CRISIS, "恰恰瓜子国内售价是美国十倍的传言，价格危机", PRICE),
    2467: Verdict("恰恰瓜子|恰恰", CRISIS, "恰恰瓜子国内售价是美国十倍的传言，价格危机", PRICE),
    2470: Verdict("", SKIP, "隐翅虫毒液警示，没有可监测的商品"),
    2477: Verdict("中国移动|移动", CRISIS, "移动对微信微博收费的传言，价格/收费危机", PRICE),
    2517: Verdict("", SKIP, "交大招生内定爆料，教育话题，没有可监测的商品"),
    2521: Verdict("砂锅粥|虾蟹粥", CRISIS, "砂锅粥添加红虾粉致癌，食品安全恐慌", (SAFETY,)),
    2584: Verdict("转基因食品|转基因玉米", CRISIS, "转基因食品致牲畜死亡的说法并号召拒吃，食品安全恐慌", (SAFETY,)),
    2594: Verdict("牛奶", CRISIS, "牛奶致癌致糖尿病的传言，食品安全恐慌", (SAFETY,)),
    2595: Verdict("转基因食品|转基因大豆|转基因玉米", CRISIS, "转基因食品有毒有害的说法，食品安全恐慌", (SAFETY,)),
    2600: Verdict("", SKIP, "央行因本拉登推迟加息的杜撰，金融政策，没有可监测的商品"),
    2640: Verdict("自然堂", QUIET, "自然堂路演活动，推广与好评"),
    2648: Verdict("有道笔记", QUIET, "有道笔记内测的产品新闻"),
    2704: Verdict("日系产品|日系品牌", CRISIS, "电商呼吁下架日系产品，抵制导致日系家电销量大跌", ()),
    2745: Verdict("四季酒店", CRISIS, "名人投诉四季酒店套房隔音差", (QUALITY,)),
    2771: Verdict("淘米", QUIET, "淘米创始人演讲感想，非危机"),
    2827: Verdict("京东", QUIET, "京东离职高管吐槽电商烧钱，行业评论"),
    2859: Verdict("电商物流|物流", QUIET, "电商物流全面升级的新闻，好消息"),
    2864: Verdict("天猫", QUIET, "个人日常逛天猫购物，非危机"),
    2922: Verdict("阿里巴巴", QUIET, "阿里巴巴高管谈电商C2B模式，行业观点"),
    2932: Verdict("恒天然", CRISIS, "恒天然污染奶粉事件道歉仍隐瞒客户，食品安全危机", (SAFETY,)),
    2994: Verdict("", SKIP, "大宝法王的修行语录，没有可监测的商品"),
    3096: Verdict("洛川苹果", QUIET, "洛川苹果网络直销模式，好评与支持"),
    3103: Verdict("", SKIP, "求职节目选手介绍，没有可监测的商品"),
    3112: Verdict("食品", QUIET, "公民梦想清单，食品只是顺带提及"),
    3128: Verdict("", SKIP, "艺考报名现场新闻，没有可监测的商品"),
    3142: Verdict("电果网", QUIET, "称赞电果网微博客服，好评"),
    3149: Verdict("羽西", QUIET, "羽西日霜晚霜使用好评"),
    3163: Verdict("肯德基", CRISIS, "央视曝光违禁药催肥速成鸡供应肯德基，食品安全危机", (SAFETY,)),
    3234: Verdict("珍珠奶茶|珍奶", CRISIS, "德媒称珍珠奶茶含有毒致癌成分，食品安全恐慌", (SAFETY,)),
    3251: Verdict("零食", QUIET, "回家幸福感的抒情，零食只是顺带提及"),
    3267: Verdict("", SKIP, "搞笑视频推荐，没有可监测的商品"),
    3361: Verdict("学大教育", QUIET, "学大教育高考微小说有奖活动，推广"),
    3400: Verdict("食品", QUIET, "众星朗诵视频泛泛控诉黑心厂商，旧事提及，无具体新事件"),
    3405: Verdict("PayPal", QUIET, "PayPal结盟Discover的商业新闻"),
    3415: Verdict("", SKIP, "人民日报谈房价与城镇化，政策话题，没有可监测的商品"),
    3501: Verdict("冬装", QUIET, "李敏镐拍冬装广告的娱乐新闻"),
    3612: Verdict("innerexile", QUIET, "innerexile产品好评与转发抽奖"),
    3675: Verdict("淘宝", QUIET, "网友淘宝买配件自制供暖系统，好消息"),
    3714: Verdict("面包", QUIET, "面包品牌改名段子，玩笑"),
    3734: Verdict("京东", QUIET, "腾讯电商资产入股京东的爆料，商业新闻"),
    3782: Verdict("米聊", QUIET, "SoLoMo概念与米聊招人，推广"),
    3917: Verdict("", SKIP, "明星与富商晚餐视频流出，娱乐八卦，没有可监测的商品"),
    4037: Verdict("保养品|补水产品", QUIET, "护肤品选购建议，非危机"),
    4122: Verdict("尿不湿|纸尿片|纸尿裤", QUIET, "香港纸尿片被扫货及走私案，新闻，非质量问题"),
    4131: Verdict("淘宝", QUIET, "淘宝店运营选择题，非危机"),
    4135: Verdict("花生油|自榨花生油", CRISIS, "自榨花生油黄曲霉素超标三倍，食品安全危机", (SAFETY,)),
    4185: Verdict("熊先生", QUIET, "熊先生品牌周年活动预告，推广"),
    4200: Verdict("食品安全", QUIET, "评论食品安全事件无官员问责，政治评论"),
    4376: Verdict("南航", QUIET, "南航学生机票4折优惠，促销"),
    4446: Verdict("当当", QUIET, "作者新书可在当当等电商购买，推荐"),
    4460: Verdict("淘宝", CRISIS, "淘宝退换货纠纷后卖家辱骂并以地址威胁买家", (SERVICE, PRIVACY)),
    4486: Verdict("IFS", QUIET, "那英出席成都IFS品牌活动，娱乐新闻"),
    4597: Verdict("快递", QUIET, "快递外卖可达的隐居地调侃，非危机"),
    4606: Verdict("快递|中通快递|申通快递|韵达快递", CRISIS, "国家取缔中通申通韵达等未经许可快递网点，快递业整顿", (LOGISTICS,)),
    4690: Verdict("Desigual", QUIET, "Desigual新店只穿内衣免费选衣的促销"),
    4708: Verdict("淘宝", QUIET, "个人反思淘宝成瘾，心灵感悟"),
    4714: Verdict("毒奶粉|奶粉", QUIET, "总理谈诚信道德，毒奶粉地沟油只是旧事提及"),
    4725: Verdict("", SKIP, "粉丝夸代言广告，未点名品牌或商品"),
    4777: Verdict("平安", QUIET, "平安金融超市一站式服务的商业新闻"),
    4794: Verdict("HR", QUIET, "HR抗老产品使用好评"),
    4797: Verdict("三星|三星家电", QUIET, "三星白电进社区活动，促销"),
    4889: Verdict("百度", QUIET, "百度招聘信息"),
    4971: Verdict("淘宝", QUIET, "淘宝内推招聘信息"),
    4979: Verdict("淘宝", QUIET, "淘宝卖家肯用顺丰送达的生意感悟，好评"),
    5057: Verdict("N2", QUIET, "厂商回应N2包装设计疑似他人专利，非质量或安全问题"),
}


def select_events(events: pd.DataFrame, sample: pd.DataFrame) -> list[int]:
    """Return the consumer-topic events that are not in the repost sample (benchmarks/ced.py has those), by id."""
    chosen = events[(events["consumer_keyword"] == 1) & ~events["event_id"].isin(set(sample["event_id"]))]
    return sorted(int(e) for e in chosen["event_id"])


def repost_times(first_post: datetime, hours: pd.DataFrame, first_repost: datetime | None = None) -> list[datetime]:
    """Return one time per repost: each hour's reposts spread evenly over it, never before the original post nor
    before the first repost's recorded time."""
    times: list[datetime] = []
    earliest = max(first_post, first_repost) if first_repost else first_post
    for hour, count in zip(hours["hour"], hours["n_reposts"], strict=True):
        start = max(datetime.fromisoformat(str(hour)), earliest)
        end = datetime.fromisoformat(str(hour)) + timedelta(hours=1)
        span = (end - start) / int(count)
        times.extend(start + span * (k + 0.5) for k in range(int(count)))
    return times


def canonical_rows(event: pd.Series, hours: pd.DataFrame) -> list[dict[str, object]]:
    """Return the event's original post and one plain repost per counted repost, as canonical mention rows."""
    original_id = f"cedh{event['event_id']}-0"
    first = datetime.fromisoformat(str(event["timestamp"]))
    rows: list[dict[str, object]] = [{
        "id": original_id, "text": str(event["text"]), "author": "原博", "platform": "微博",
        "reach": int(event["user_followers"]) if pd.notna(event["user_followers"]) else 0,
        "published_at": _beijing(event["timestamp"]),
    }]
    first_repost = datetime.fromisoformat(str(event["first_repost"])) if pd.notna(event.get("first_repost")) else None
    for n, stamp in enumerate(repost_times(first, hours.sort_values("hour"), first_repost), start=1):
        rows.append({"id": f"cedh{event['event_id']}-{n}", "text": "转发微博", "platform": "微博",
                     "published_at": _beijing(stamp.isoformat(sep=" ", timespec="seconds")),
                     "repost_of": original_id})
    return rows


def peak_hour_end(hours: pd.DataFrame) -> datetime:
    """Return the end of the hour with the most reposts (the earliest of ties)."""
    busiest = hours.sort_values(["n_reposts", "hour"], ascending=[False, True]).iloc[0]["hour"]
    return datetime.fromisoformat(str(busiest)) + timedelta(hours=1)


def _replay(job: tuple[dict[str, object], pd.DataFrame, Verdict, str]) -> dict[str, object]:
    """Write one event as a canonical file, replay it watching its term, and return its row (in a worker)."""
    fields, hours, verdict, folder = job
    event = pd.Series(fields)
    path = Path(folder) / f"cedh-{event['event_id']}.jsonl"
    write_mention_rows(canonical_rows(event, hours), path)
    peak = peak_hour_end(hours).isoformat(sep=" ", timespec="seconds")
    return replay_row(path, fields, verdict, 1 + int(hours["n_reposts"].sum()), datetime.fromisoformat(_beijing(peak)))


STORY_OVERLAP = 0.5  # share of the shorter text's 4-character runs two copies of one story have in common


def stories(texts: dict[int, str], verdicts: dict[int, Verdict]) -> dict[int, int]:
    """Return event id -> story (its group's smallest id): events with the same watch term whose texts share at
    least STORY_OVERLAP of the shorter one's 4-character runs (punctuation, letters and digits left out) are
    copies of one story (13 posts of the 地沟油 reporter's death, 8 of 果粒橙's pesticide)."""
    runs = {e: {t[i:i + 4] for i in range(len(t) - 3)}
            for e, t in ((e, re.sub(r"[\W_a-zA-Z0-9]+", "", text)) for e, text in texts.items())}
    story = {e: e for e in texts}

    def root(e: int) -> int:
        while story[e] != e:
            e = story[e]
        return e

    ordered = sorted(texts)
    for n, a in enumerate(ordered):
        for b in ordered[n + 1:]:
            shorter = min(len(runs[a]), len(runs[b])) or 1
            if verdicts[a].watch == verdicts[b].watch and len(runs[a] & runs[b]) / shorter >= STORY_OVERLAP:
                story[root(b)] = root(a)
    return {e: root(e) for e in ordered}


def summarise_stories(rows: list[dict[str, object]], story: dict[int, int]) -> dict[str, int]:
    """Return, per kind, how many stories there are and how many had an incident in at least one copy."""
    out: dict[str, int] = {}
    for kind in (CRISIS, QUIET):
        groups: dict[int, bool] = {}
        for row in rows:
            if row["kind"] == kind:
                key = story[int(row["event_id"])]  # type: ignore[call-overload]
                groups[key] = groups.get(key, False) or row["opened_at"] is not None
        out[f"{kind}_stories"], out[f"{kind}_stories_alarmed"] = len(groups), sum(groups.values())
    return out


def evaluate_ced_hourly(workers: int | None = None) -> dict[str, object]:
    """Replay every judged hourly-only event (skips left out) and return per-event rows and the summary."""
    events, hourly, sample = (pd.read_csv(DATA_DIR / name, encoding="utf-8") for name in HOURLY_FILES)
    return replay_judged(events, hourly, select_events(events, sample), EVENTS, workers)


def replay_judged(events: pd.DataFrame, hourly: pd.DataFrame, ids: list[int], verdicts: dict[int, Verdict],
                  workers: int | None = None) -> dict[str, object]:
    """Replay the selected events `ids` that `verdicts` judged (every one must be; skips are left out) from their
    hourly repost counts, and return per-event rows, the summary and the counts per story."""
    started = time.perf_counter()
    missing, extra = sorted(set(ids) - set(verdicts)), sorted(set(verdicts) - set(ids))
    if missing or extra:
        raise ValueError(f"the verdicts do not match the selected CED events: unjudged {missing}, not selected {extra}")
    judged = [e for e in ids if verdicts[e].kind != SKIP]
    with tempfile.TemporaryDirectory(prefix="crisis-cedh-") as tmp:
        jobs = [(events[events["event_id"] == e].iloc[0].to_dict(), hourly[hourly["event_id"] == e], verdicts[e], tmp)
                for e in judged]
        with ProcessPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
            rows = list(pool.map(_replay, jobs))
    return {"step_minutes": STEP / timedelta(minutes=1), "horizon_hours": HORIZON / timedelta(hours=1),
            "split": {kind: sum(verdicts[e].kind == kind for e in ids) for kind in (CRISIS, QUIET, SKIP)},
            "events": rows, "summary": summarise(rows, verdicts),
            "stories": summarise_stories(rows, stories({e: str(t) for e, t in zip(events["event_id"], events["text"],
                                                                                     strict=True) if e in judged},
                                                       verdicts)),
            "seconds": round(time.perf_counter() - started, 1)}


def held_out_line(name: str, part: dict[str, object]) -> str:
    """Return a held-out set's one printed line: its summary and its story counts, never its rows."""
    st = part["stories"]
    return (f"{name}: {summary_line(part['summary'])}; by story crisis "  # type: ignore[arg-type]
            f"{st['crisis_stories_alarmed']}/{st['crisis_stories']}, quiet "  # type: ignore[index]
            f"{st['quiet_stories_alarmed']}/{st['quiet_stories']}")  # type: ignore[index]


def render_stories(result: dict[str, object], console: Console) -> None:
    """Print the story counts under the per-event table (copies of one story are not independent evidence)."""
    s = result["stories"]
    console.print(f"by story (copies of one text grouped): crisis {s['crisis_stories_alarmed']}/{s['crisis_stories']} "  # type: ignore[index]
                  f"with an incident in at least one copy; quiet {s['quiet_stories_alarmed']}/{s['quiet_stories']}")  # type: ignore[index]
